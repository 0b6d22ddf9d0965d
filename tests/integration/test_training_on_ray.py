"""The whole loop on a private local Ray cluster, with MLflow on sqlite in a temp dir."""

import json

import pytest
import ray
from mlflow import MlflowClient

from orchestrator.config import load_config
from orchestrator.driver import train

pytestmark = pytest.mark.slow

PER_STEP = [
    "reward/mean",
    "reward/std",
    "emotion/final_mean",
    "curriculum/difficulty",
    "curriculum/pass_rate",
    "curriculum/band_low",
    "curriculum/band_high",
    "curriculum/informative_group_frac",
    "actor/entropy",
    "actor/pg_loss",
    "actor/kl",
    "actor/clip_frac",
    "actor/grad_norm",
    "rollout/turns_mean",
    "rollout/response_tokens_mean",
    "perf/step_s",
    "perf/generate_s",
    "perf/simulate_s",
    "perf/learn_s",
    "perf/sync_s",
    "perf/tokens_per_s",
]


def test_two_workers_train_log_and_checkpoint(tiny_model, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri={uri}",
            "tracking.experiment=it",
            "trainer.steps=3",
            "trainer.checkpoint_every=2",
            "trainer.sample_every=2",
            "rollout.num_workers=2",
            "rollout.group_size=2",
            "rollout.groups_per_step=4",
            "algo.kl_coef=0.05",
            "curriculum.controller=linear",
        ],
    )
    seen = []
    summary = train(cfg, on_step=lambda step, m: seen.append(step), log=lambda m: None)
    assert seen == [0, 1, 2]
    assert not ray.is_initialized()

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(summary.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["algo.kl_coef"] == "0.05" and run.data.params["rollout.num_workers"] == "2"
    for key in PER_STEP:
        assert [m.step for m in client.get_metric_history(summary.run_id, key)] == [0, 1, 2], key
    kl = [m.value for m in client.get_metric_history(summary.run_id, "actor/kl")]
    assert kl[0] == pytest.approx(0.0, abs=1e-6) and kl[-1] > 0
    difficulty = [m.value for m in client.get_metric_history(summary.run_id, "curriculum/difficulty")]
    assert difficulty == pytest.approx([0.3, 0.55, 0.8])

    artifacts = {a.path for a in client.list_artifacts(summary.run_id)}
    assert {"config", "dialogues", "plots"} <= artifacts
    dialogues = {a.path for a in client.list_artifacts(summary.run_id, "dialogues")}
    assert dialogues == {"dialogues/step_000000.json", "dialogues/step_000002.json"}
    table = json.loads(open(client.download_artifacts(summary.run_id, "dialogues/step_000002.json", str(tmp_path))).read())
    assert "reply_strategies" in table["columns"] and len(table["data"]) == cfg.trainer.samples_per_log

    checkpoints = sorted(p.name for p in (summary.run_dir / "checkpoints").iterdir())
    assert checkpoints == ["step_000002", "step_000003"]
    last = summary.run_dir / "checkpoints" / "step_000003"
    assert (last / "model.safetensors").exists() and (last / "optimizer.pt").exists()
    assert json.loads((last / "trainer_state.json").read_text())["step"] == 3
    assert len(summary.timings) == 3 and all(t.step_s > 0 for t in summary.timings)
