"""`goldilocks compare` on runs in a real MLflow store, and `goldilocks power`."""

import json

import numpy as np
from mlflow import MlflowClient
from typer.testing import CliRunner

from orchestrator.cli.main import app
from tests.unit.orchestrator.tracking.test_run_comparison import _log_run

runner = CliRunner()


def test_compare_prints_verdicts_and_writes_every_number(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("cmp", artifact_location=(tmp_path / "art").as_uri())
    rng = np.random.default_rng(1)
    ids = []
    for seed in range(8):
        base = rng.normal(40, 3)
        ids.append(_log_run(client, exp, "fixed", seed, [base]))
        ids.append(_log_run(client, exp, "band", seed, [base - 6 + rng.normal(0, 1)]))
    out = runner.invoke(
        app,
        ["compare", *ids, "--json", str(tmp_path / "v.json"), "--figure", str(tmp_path / "v.png"), "-s", f"tracking.uri={uri}"],
        terminal_width=250,
    )
    assert out.exit_code == 0, out.output
    assert "worse" in out.output and "not declared" not in out.output and "no planned pairs" in out.output
    report = json.loads((tmp_path / "v.json").read_text())
    (verdict,) = report["verdicts"]
    assert report["declared"] and verdict["family"] == "primary" and verdict["pairs"] == 8
    assert verdict["t_high"] < 0 and len(verdict["differences"]) == 8 and (tmp_path / "v.png").stat().st_size > 0


def test_compare_calls_a_look_before_the_planned_pairs_interim(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("cmp", artifact_location=(tmp_path / "art").as_uri())
    planned = {"set": ["analysis.planned_units=10"]}
    ids = [_log_run(client, exp, row, s, [40.0 + s + (row == "band")], planned) for s in range(4) for row in ("fixed", "band")]
    out = runner.invoke(app, ["compare", *ids, "--set", f"tracking.uri={uri}"], terminal_width=250)
    assert out.exit_code == 0, out.output
    said = " ".join(out.output.split())
    assert "interim look: 4 of the 10 pairs planned" in said and "its claims are not verdicts" in said


def test_compare_names_a_missing_reference_row(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("cmp", artifact_location=(tmp_path / "art").as_uri())
    ids = [_log_run(client, exp, row, s, [40.0 + s]) for s in range(3) for row in ("fixed", "band")]
    out = runner.invoke(app, ["compare", *ids, "--against", "nope", "--set", f"tracking.uri={uri}"], terminal_width=250)
    assert out.exit_code == 2 and "--against nope: no such row" in out.output and "band" in out.output


def test_power_plans_the_seeds_of_a_declared_effect():
    out = runner.invoke(app, ["power", "--sd", "4.02", "--effect", "3", "--comparisons", "2", "--pairs", "5"], terminal_width=200)
    assert out.exit_code == 0 and "needs 20 pairs" in out.output and "5 pairs detect" in out.output
    assert "analysis.planned_units=20" in " ".join(out.output.split())
    assert runner.invoke(app, ["power", "--sd", "0"]).exit_code == 2
