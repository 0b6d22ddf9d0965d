"""The whole loop on a private local Ray cluster, with MLflow on sqlite in a temp dir."""

import json

import optuna
import pytest
import ray
from mlflow import MlflowClient

from orchestrator.config import load_config
from orchestrator.driver import train
from orchestrator.fault_injection import NO_FAULTS, FaultPlan
from workers.env.scenarios.english_scenarios import english_split

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
    "curriculum/noise_sd",
    "actor/entropy",
    "actor/pg_loss",
    "actor/kl",
    "actor/clip_frac",
    "actor/grad_norm",
    "actor/rollout_logprob_diff",
    "actor/policy_lag",
    "reward/frac_zero_std",
    "rollout/turns_mean",
    "rollout/response_tokens_mean",
    "perf/step_s",
    "perf/generate_s",
    "perf/simulate_s",
    "perf/learn_s",
    "perf/sync_s",
    "perf/tokens_per_s",
]


def crash_after_step_2(cfg, tmp_path, faults=NO_FAULTS):
    """Train until the driver is lost after step 2 finished; the run's directory. Each step's
    metrics are in MLflow when its on_step is called, checkpoint or not."""
    client = MlflowClient(tracking_uri=cfg.tracking.uri)

    def lose_the_driver(step, metrics):
        (run,) = client.search_runs([client.get_experiment_by_name(cfg.tracking.experiment).experiment_id])
        assert [m.step for m in client.get_metric_history(run.info.run_id, "perf/step_s")] == list(range(step + 1))
        if step == 2:
            raise RuntimeError("driver lost")

    with pytest.raises(RuntimeError, match="driver lost"):
        train(cfg, on_step=lose_the_driver, log=lambda m: None, faults=faults)
    (run_dir,) = (tmp_path / "runs").iterdir()
    return run_dir


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
            "curriculum.initial_difficulty=0.3",
            "trainer.eval_every=2",
            "trainer.eval_scenarios=3",
            "trainer.eval_levels=[0.2,0.8]",
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

    for level in ("0.2", "0.8"):
        for name in ("score", "success_rate"):
            assert [m.step for m in client.get_metric_history(summary.run_id, f"eval/{level}/{name}")] == [1, 2]
    assert [m.value for m in client.get_metric_history(summary.run_id, "rollout/format_violations")] == [0, 0, 0]

    artifacts = {a.path for a in client.list_artifacts(summary.run_id)}
    assert {"config", "dialogues", "plots", "eval"} <= artifacts
    dialogues = {a.path for a in client.list_artifacts(summary.run_id, "dialogues")}
    assert dialogues == {"dialogues/step_000000.json", "dialogues/step_000002.json"}
    table = json.loads(open(client.download_artifacts(summary.run_id, "dialogues/step_000002.json", str(tmp_path))).read())
    assert "reply_strategies" in table["columns"] and len(table["data"]) == cfg.trainer.samples_per_log

    tags = run.data.tags
    assert tags["curriculum.study_name"] == summary.run_id and tags["curriculum.storage"].startswith("sqlite:///")
    study = optuna.load_study(study_name=summary.run_id, storage=tags["curriculum.storage"])
    assert [t.params["difficulty"] for t in study.trials] == pytest.approx([0.3, 0.55, 0.8])
    assert [t.user_attrs["step"] for t in study.trials] == [0, 1, 2]

    checkpoints = sorted(p.name for p in (summary.run_dir / "checkpoints").iterdir())
    assert checkpoints == ["step_000002", "step_000003"]
    last = summary.run_dir / "checkpoints" / "step_000003"
    assert (last / "model.safetensors").exists() and (last / "optimizer.pt").exists()
    state = json.loads((last / "trainer_state.json").read_text())
    assert state["step"] == 3 and (state["study_name"], state["storage"]) == (summary.run_id, tags["curriculum.storage"])
    assert len(summary.timings) == 3 and all(t.step_s > 0 for t in summary.timings)


def test_a_simulator_outage_fails_the_step_after_securing_a_checkpoint(tiny_model, tmp_path, openai_stub):
    from orchestrator.driver import StepFailed
    from tests.support.openai_stub import Answer, default_answer

    down = {"now": False}
    openai_stub.respond = lambda r: Answer(status=503) if down["now"] else default_answer(r)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri={uri}",
            "trainer.steps=4",
            "trainer.checkpoint_every=0",
            "rollout.group_size=2",
            "rollout.groups_per_step=2",
            "trainer.eval_every=0",
            "simulator.name=llm",
            f"simulator.endpoint={openai_stub.url}",
            "simulator.model=stub",
            "simulator.max_retries=1",
            "simulator.timeout_s=5",
            "simulator.retry_budget_s=1",  # the outage is permanent: no need to ride it out for a minute
        ],
    )

    asked = [0]

    def on_step(step, metrics):
        assert metrics["simulator/parse_failures"] == 0 and "rollout/strategy_match_frac" not in metrics
        assert metrics["simulator/requests"] == len(openai_stub.requests) - asked[-1]
        assert metrics["simulator/run_requests"] == len(openai_stub.requests)
        assert metrics["simulator/prompt_tokens"] > metrics["simulator/completion_tokens"] > 0
        assert 0 < metrics["simulator/latency_p50_s"] <= metrics["simulator/latency_p95_s"]
        asked.append(len(openai_stub.requests))
        down["now"] = step == 1

    expected = r"(?s)^step 2 failed: simulator endpoint http://127\.0\.0\.1.*503.*checkpointed in .*step_000002$"
    with pytest.raises(StepFailed, match=expected):
        train(cfg, on_step=on_step, log=lambda m: None)
    assert not ray.is_initialized()
    (run_dir,) = (tmp_path / "runs").iterdir()
    state = json.loads((run_dir / "checkpoints" / "step_000002" / "trainer_state.json").read_text())
    assert state["step"] == 2 and state["simulator_totals"]["requests"] == asked[2]
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("goldilocks-demo").experiment_id])
    assert run.info.status == "FAILED"


def test_a_crashed_run_resumes_from_its_checkpoint_and_logs_every_step_once(tiny_model, tmp_path):
    """The driver dies after step 2 finished and was logged, one step past its last checkpoint: the
    resumed run re-does step 2 with the same scenarios, its controller (`per_scenario`, which places
    each group by its scenario bucket) continues the stored study, and MLflow ends with exactly one
    value per step, step 2's from the lost trajectory, as the run's tag says."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri={uri}",
            "trainer.steps=5",
            "trainer.checkpoint_every=2",
            "trainer.keep_checkpoints=1",
            "trainer.sample_every=1",
            "trainer.samples_per_log=24",
            "rollout.group_size=2",
            "rollout.groups_per_step=3",
            "curriculum.controller=per_scenario",
        ],
    )

    run_dir = crash_after_step_2(cfg, tmp_path)
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(run_dir.name).info.status == "FAILED"
    lost = client.get_metric_history(run_dir.name, "reward/mean")
    assert [m.step for m in lost] == [0, 1, 2]

    seen = []
    summary = train(cfg, on_step=lambda step, m: seen.append(step), log=lambda m: None, resume_from=run_dir)
    assert seen == [2, 3, 4] and summary.run_id == run_dir.name

    run = client.get_run(run_dir.name)
    assert run.info.status == "FINISHED"
    assert run.data.tags["resume.redone_steps"] == "2"
    assert client.get_metric_history(run_dir.name, "reward/mean")[:3] == lost
    for key in PER_STEP:
        assert [m.step for m in client.get_metric_history(run_dir.name, key)] == [0, 1, 2, 3, 4], key
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_000005"]
    study = optuna.load_study(study_name=run_dir.name, storage=run.data.tags["curriculum.storage"])
    from orchestrator.curriculum.study_records import trials_on_record

    assert [t.user_attrs["step"] for t in trials_on_record(study)] == [0, 1, 2, 3, 4]
    # Steps 0-2 of the crashed run, the trial it had planned for step 3 while step 2's update ran
    # (failed as stale when the run resumed), and steps 2-4 of the resumed run.
    assert len(study.trials) == 7
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials) == 1
    both_step_2 = [t for t in study.trials if t.user_attrs.get("step") == 2 and t.state == optuna.trial.TrialState.COMPLETE]
    assert len(both_step_2) == 2 and both_step_2[0].user_attrs["group_buckets"] == both_step_2[1].user_attrs["group_buckets"]
    for trial in trials_on_record(study):
        buckets = trial.user_attrs["group_buckets"]
        assert len(buckets) == 3 and set(buckets) <= {s.personality for s in english_split("all")}
        levels = [d for d, _, _ in trial.user_attrs["group_points"]]
        assert trial.params["difficulty"] == pytest.approx(sum(levels) / 3)


def test_the_pipelined_loop_lags_one_update_survives_a_dead_worker_and_resumes(tiny_model, tmp_path):
    """one_step_off: step t+1 samples from the weights that sampled step t (lag 1; 0 for the first
    step of a run or a resume, whose rollout starts from the learner's weights). A rollout worker
    killed mid-step is brought back on the weights its groups were submitted with; a crash after
    step 2 resumes at step 3, and every step is logged exactly once. An entropy floor above any
    entropy: step t's proposal sees step t - 2's entropy, so the guard holds from step 2 and eases
    from step 3 on, the resumed step included (its entropy came back with the checkpoint)."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri={uri}",
            "trainer.pipeline=one_step_off",
            "trainer.steps=5",
            "trainer.checkpoint_every=1",
            "rollout.num_workers=2",
            "rollout.group_size=2",
            "rollout.groups_per_step=4",
            "trainer.eval_every=2",
            "trainer.eval_scenarios=2",
            "trainer.eval_levels=[0.5]",
            "curriculum.controller=fixed",
            "curriculum.initial_difficulty=0.5",
            "curriculum.entropy_floor=100",
            "curriculum.entropy_patience=1",
            "curriculum.max_step=0.1",
        ],
    )

    run_dir = crash_after_step_2(cfg, tmp_path, FaultPlan(kill_rollout_worker_at_step=1))
    seen = []
    summary = train(cfg, on_step=lambda step, m: seen.append(step), log=lambda m: None, resume_from=run_dir)
    assert seen == [3, 4] and (summary.run_dir / "FINISHED").exists()
    client = MlflowClient(tracking_uri=uri)

    def history(key):
        return [(m.step, m.value) for m in sorted(client.get_metric_history(run_dir.name, key), key=lambda m: m.step)]

    assert history("actor/policy_lag") == [(0, 0.0), (1, 1.0), (2, 1.0), (3, 0.0), (4, 1.0)]
    assert [s for s, _ in history("reward/mean")] == [0, 1, 2, 3, 4]
    assert history("faults/rollout_restarts")[-1] == (4, 1.0)
    assert [s for s, _ in history("eval/0.5/score")] == [1, 3, 4]
    assert [v for _, v in history("curriculum/entropy_guard")] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert [v for _, v in history("curriculum/difficulty")] == pytest.approx([0.5, 0.5, 0.5, 0.4, 0.3])


def test_a_resumed_run_keeps_the_precision_its_checkpoint_recorded(tiny_model, tmp_path):
    """The run chose bf16; its probe cache is deleted and it resumes under `auto`, which on this
    tiny policy picks fp32 (or fp32 by the hardware): it computes in bf16 all the same, and says
    so in its log, its param and its next checkpoint."""
    import shutil

    from orchestrator.checkpoints import checkpoints, load_state
    from orchestrator.config import with_overrides
    from workers.policy_model.bootstrap import cache_root

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    base = [f"workdir={tmp_path}/runs", f"tracking.uri={uri}", "trainer.checkpoint_every=2", "trainer.eval_every=0"]
    cfg = load_config(None, [*base, "trainer.steps=2", "rollout.group_size=2", "rollout.groups_per_step=3"])
    train(with_overrides(cfg, ["algo.precision=bf16"]), log=lambda m: None)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert load_state(checkpoints(run_dir)[-1]).learner_precision == "bf16"
    shutil.rmtree(cache_root() / "probes", ignore_errors=True)
    lines: list[str] = []
    train(with_overrides(cfg, ["algo.precision=auto", "trainer.steps=3"]), log=lines.append, resume_from=run_dir)
    assert any(line.startswith("learner precision bf16: pinned") for line in lines), lines
    assert load_state(checkpoints(run_dir)[-1]).learner_precision == "bf16"
    assert MlflowClient(tracking_uri=uri).get_run(run_dir.name).data.params["learner.precision"] == "bf16"
