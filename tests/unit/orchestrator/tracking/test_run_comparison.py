"""Runs read back from a real MLflow store (sqlite in a temp dir) into rows and pairs."""

import re

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from orchestrator.config import flatten, load_config
from orchestrator.tracking.run_comparison import NotComparable, read_runs, row_names

METRIC = "eval/0.65/score"


def _log_run(client, experiment, row: str | None, seed: int, scores: list[float], extra: dict | None = None, declare=True) -> str:
    overrides = [f"seed={seed}", f"policy.model=/ckpt/ws{seed}", "trainer.eval_levels=[0.65]", *(extra or {}).get("set", [])]
    if row:
        overrides.append(f"analysis.row={row}")
    if declare:
        overrides += [f"analysis.metric={METRIC}", "analysis.reference=fixed", "analysis.comparisons=[band]"]
    params = flatten(load_config(None, overrides))
    run = client.create_run(experiment, run_name=f"{row}-{seed}")
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in list(params.items())[:100]])
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in list(params.items())[100:]])
    client.log_batch(run.info.run_id, metrics=[Metric(METRIC, s, 0, 10 * (i + 1)) for i, s in enumerate(scores)])
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.fixture
def store(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    return client, client.create_experiment("cmp", artifact_location=(tmp_path / "art").as_uri())


def test_rows_and_pairs_come_from_the_runs_declaration(store):
    client, exp = store
    rng = np.random.default_rng(0)
    ids = []
    for seed in range(6):
        base = rng.normal(40, 3)
        ids.append(_log_run(client, exp, "fixed", seed, [base, base + 2]))
        ids.append(_log_run(client, exp, "band", seed, [base + 4, base + 6]))
    found = read_runs(client, ids)
    assert found.declared and found.plan.reference == "fixed" and found.plan.comparisons == ["band"]
    band, fixed = found.data[METRIC]["band"], found.data[METRIC]["fixed"]
    assert sorted(band) == [(f"/ckpt/ws{s}", s) for s in range(6)]
    assert all(band[k] - fixed[k] == pytest.approx(4.0) for k in band)
    changed = read_runs(client, ids, {"reduce": "last", "reference": None})
    assert not changed.declared and changed.plan.reduce == "last"


def test_runs_that_measure_differently_or_miss_the_metric_are_refused(store):
    client, exp = store
    a = _log_run(client, exp, "fixed", 0, [40.0])
    b = _log_run(client, exp, "band", 0, [41.0], {"set": ["trainer.eval_levels=[0.8]"]})
    with pytest.raises(NotComparable, match=r"trainer\.eval_levels"):
        read_runs(client, [a, b])
    c = _log_run(client, exp, "band", 0, [])
    with pytest.raises(NotComparable, match=f"metric {re.escape(METRIC)} missing"):
        read_runs(client, [a, c])
    d = _log_run(client, exp, "fixed", 0, [42.0])
    with pytest.raises(NotComparable, match="two runs on warm start"):
        read_runs(client, [a, d])
    with pytest.raises(NotComparable, match="no MLflow run"):
        read_runs(client, [a, "0" * 32])


def test_undeclared_runs_are_named_by_what_differs(store):
    client, exp = store
    a = _log_run(client, exp, None, 0, [40.0], {"set": ["curriculum.controller=fixed"]}, declare=False)
    b = _log_run(client, exp, None, 0, [41.0], {"set": ["curriculum.controller=band"]}, declare=False)
    runs = [client.get_run(a), client.get_run(b)]
    assert set(row_names(runs).values()) == {"curriculum.controller=fixed", "curriculum.controller=band"}
    assert not read_runs(client, [a, b], {"metric": METRIC}).declared


def test_a_sweeps_parent_run_stands_for_its_trials_which_are_the_rows(store):
    client, exp = store
    parent = client.create_run(exp, run_name="sweep").info.run_id
    ids = []
    for trial, shift in ((0, 0.0), (1, 3.0)):
        for seed in range(3):
            run_id = _log_run(client, exp, None, seed, [40.0 + seed + shift], declare=False)
            client.set_tag(run_id, "mlflow.parentRunId", parent)
            client.set_tag(run_id, "sweep.trial_number", str(trial))
            ids.append(run_id)
    found = read_runs(client, [parent], {"metric": METRIC, "reference": "trial0"})
    assert sorted(found.rows) == ["trial0", "trial1"] and sorted(found.rows["trial1"]) == sorted(ids[3:])
    assert [found.data[METRIC]["trial1"][k] - v for k, v in found.data[METRIC]["trial0"].items()] == [3.0, 3.0, 3.0]
