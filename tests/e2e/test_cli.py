"""The `goldilocks` command as a user runs it: a subprocess in a fresh directory."""

import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.processes import left_by_this_test, vllm_servers


def test_unknown_key_fails_fast_naming_it_and_writes_nothing(tmp_path):
    start = time.monotonic()
    out = run_cli("run", "--set", "trainer.stepz=3", cwd=tmp_path)
    assert out.returncode == 2
    assert "trainer.stepz: unknown key" in out.stdout + out.stderr
    assert time.monotonic() - start < 30
    assert list(tmp_path.iterdir()) == []


def test_bad_value_names_the_key(tmp_path):
    out = run_cli("run", "--set", "rollout.num_workers=0", cwd=tmp_path)
    assert out.returncode == 2 and "rollout.num_workers" in out.stdout + out.stderr


def test_unknown_model_size_is_an_error(tmp_path):
    out = run_cli("bootstrap-model", "--size", "huge", cwd=tmp_path)
    assert out.returncode == 2 and "unknown model size 'huge'" in out.stdout


@pytest.mark.slow
def test_run_trains_and_points_to_mlflow(two_step_run):
    tmp_path, out = two_step_run
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MLflow run id:" in out.stdout and "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out.stdout
    steps = [line for line in out.stdout.splitlines() if line.startswith("step ")]  # not a terminal: a line per step
    assert [line.split("  ")[0] for line in steps] == ["step 1/2", "step 2/2"] and all("pass " in line for line in steps)
    assert (tmp_path / "mlflow.db").exists()
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "curves.png").exists()

    run_id = run_dirs[0].name
    before = sorted(p.relative_to(run_dirs[0]) for p in run_dirs[0].rglob("*"))
    bad = run_cli("run", "--resume", run_id, "--set", "trainer.steps=many", cwd=tmp_path)
    assert bad.returncode == 2 and "trainer.steps" in bad.stdout + bad.stderr
    assert sorted(p.relative_to(run_dirs[0]) for p in run_dirs[0].rglob("*")) == before  # nothing lost

    more = run_cli("run", "--resume", run_id, "--set", "trainer.steps=3", cwd=tmp_path)
    assert more.returncode == 0, more.stdout + more.stderr
    assert f"resuming run {run_id} after step 2" in more.stdout and f"MLflow run id: {run_id}" in more.stdout
    assert sorted(p.name for p in (run_dirs[0] / "checkpoints").iterdir()) == ["step_000002", "step_000003"]


def test_resume_errors_name_what_is_missing(tmp_path):
    out = run_cli("run", "--resume", "no-such-run", cwd=tmp_path)
    runs = (tmp_path / "runs").resolve()  # messages name absolute locations: where every node would look
    assert out.returncode == 2 and f"no run directory {runs / 'no-such-run'}" in " ".join(out.stdout.split()), out.stdout
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    out = run_cli("run", "--resume", "r1", cwd=tmp_path)
    assert out.returncode == 2 and f"{runs / 'r1'} has no complete checkpoint" in " ".join(out.stdout.split()), out.stdout
    out = run_cli("run", "--resume", "r1", "--config", "x.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "change keys with --set, not --config" in out.stdout


def test_eval_of_scripted_baselines_writes_a_report(tmp_path):
    import json

    scores = {}
    for name in ("matching", "generic"):
        args = ["eval", "--policy", f"scripted:{name}", "--out", f"reports/{name}.json", "--set", "simulator.intents=null"]
        out = run_cli(*args, cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "success = final emotion >= 70" in out.stdout and "scripted:" in out.stdout
        report = json.loads((tmp_path / "reports" / f"{name}.json").read_text())
        assert [lv["level"] for lv in report["levels"]] == [0.2, 0.5, 0.8]
        assert all(lv["episodes"] == 48 for lv in report["levels"])
        scores[name] = [lv["score"] for lv in report["levels"]]
    assert all(m > g for m, g in zip(scores["matching"], scores["generic"], strict=True))
    assert scores["matching"] == sorted(scores["matching"], reverse=True)


def test_an_eval_argument_error_exits_2_naming_the_option(tmp_path):
    """Through the installed script; every check is in tests/unit/orchestrator/cli/test_train_verbs.py."""
    out = run_cli("eval", "--policy", "scripted:generic", "--levels", "0.2,1.4", cwd=tmp_path)
    assert out.returncode == 2 and "--levels" in out.stdout, out.stdout + out.stderr


def test_eval_under_the_sage_protocol_survives_an_endpoint_restart(tmp_path, openai_stub):
    """SAGE's setting on RLVER's 100 test profiles against the scripted server: every user starts
    at 40 and, told -35 (counted as -10) by its analyser, ends at 0 (a failure) on its fourth
    reply. The server goes
    away for 2 s after 60 requests; the 10 s retry budget rides it out and the report is whole."""
    import json
    import threading

    from tests.support.openai_stub import Answer, is_analysis

    def respond(request: dict) -> Answer:
        if len(openai_stub.requests) == 60:
            threading.Thread(target=openai_stub.restart, args=(2.0,)).start()
        return Answer("Content: x\nChange: -35") if is_analysis(request) else Answer("I do not know.")

    openai_stub.respond = respond
    args = ["eval", "--policy", "scripted:generic", "--protocol", "sage", "--out", "sage.json"]
    args += ["--set", "simulator.name=llm", "--set", f"simulator.endpoint={openai_stub.url}", "--set", "simulator.model=stub"]
    args += ["--set", "simulator.retry_budget_s=10"]
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "eval 64/100 dialogues" in out.stdout and "eval 100/100 dialogues" in out.stdout
    report = json.loads((tmp_path / "sage.json").read_text())
    assert report["protocol"] == "sage" and report["simulator_profile"] == "rlver" and report["simulator_model"] == "stub"
    assert report["limit"] is None
    assert report["scenarios"] == "rlver/test" and report["success_definition"].startswith("final emotion >= 100")
    (level,) = report["levels"]
    assert (level["level"], level["episodes"], level["failure_rate"], level["score"], level["mean_turns"]) == (
        0.5,
        100,
        1.0,
        0.0,
        4,
    )
    first_analysis = next(r for r in openai_stub.requests if is_analysis(r))["messages"][0]["content"]
    assert "：40" in first_analysis or ": 40" in first_analysis


def test_eval_of_a_users_python_policy_and_of_its_errors(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from workers.env.phrases import phrase_bank\n\n\n"
        "def oracle(dialogue, scenario):\n    return phrase_bank().strategies[scenario.intent].replies[0]\n\n\n"
        "def broken(dialogue, scenario):\n    return dialogue[99]['content']\n"
    )
    out = run_cli("eval", "--policy", "python:mine.py:oracle", "--set", "simulator.intents=null", "--levels", "0.5", cwd=tmp_path)
    assert out.returncode == 0 and "│         1.00 │         0.00 │" in out.stdout, out.stdout + out.stderr
    bad = run_cli("eval", "--policy", "python:mine.py:broken", cwd=tmp_path)
    assert bad.returncode == 2 and "mine.py:9: IndexError in broken()" in bad.stdout, bad.stdout + bad.stderr


@pytest.mark.slow
def test_eval_of_a_checkpoint(tiny_model, tmp_path):
    args = ["eval", "--checkpoint", tiny_model, "--limit", "4", "--levels", "0.3", "--set", "rollout.backend=hf"]
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "│   0.3 │" in out.stdout


@pytest.mark.slow
def test_eval_serves_its_llm_user_and_stops_it_after(tiny_model, tmp_path):
    served = ["simulator.name=llm", "simulator.model=tiny", "simulator.serve.num_workers=1", "simulator.serve.max_model_len=1024"]
    served += ["simulator.serve.cpu_kv_cache_gb=0.125"]
    sets = [arg for key in served for arg in ("--set", key)]
    out = run_cli("eval", "--policy", "scripted:expert", "--limit", "2", "--levels", "0.5", *sets, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "simulator server_0 serving at http://" in out.stdout and "│   0.5 │" in out.stdout
    assert not vllm_servers("tiny")
    assert left_by_this_test() == []  # the servers' engine processes (VLLM::EngineCore) included
    typo_sets = [
        "--set",
        "simulator.name=llm",
        "--set",
        "simulator.model=./no-such-model",
        "--set",
        "simulator.serve.num_workers=1",
    ]
    typo = run_cli("eval", "--policy", "scripted:expert", *typo_sets, cwd=tmp_path)
    assert typo.returncode == 2 and "simulator.model: './no-such-model' is neither a model directory" in typo.stdout


COST_METRICS = (
    "simulator/requests",
    "simulator/prompt_tokens",
    "simulator/completion_tokens",
    "simulator/latency_p50_s",
    "simulator/latency_p95_s",
    "simulator/run_requests",
)


@pytest.mark.slow
def test_run_with_the_rlver_user_against_vllm_serve_logs_its_cost(vllm_server, tmp_path):
    """Two steps of training with RLVER's user played by a real `vllm serve` (the tiny model, whose
    analyses rarely end in a readable change: the re-ask and fallback path runs end to end)."""
    from mlflow import MlflowClient

    args = ["run", "--set", "trainer.steps=2", "--set", "rollout.groups_per_step=2", "--set", "rollout.group_size=2"]
    args += ["--set", "simulator.name=llm", "--set", f"simulator.endpoint={vllm_server}", "--set", "simulator.model=tiny-sim"]
    args += ["--set", "simulator.max_turns=2", "--set", "trainer.eval_every=0", "--set", "simulator.profile=rlver"]
    args += ["--set", "simulator.analysis_max_tokens=64", "--set", "simulator.analysis_retries=1"]
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("goldilocks-demo").experiment_id])
    history = {key: [m.value for m in client.get_metric_history(run.info.run_id, key)] for key in run.data.metrics}
    for key in ("reward/mean", "actor/entropy", "simulator/parse_failures", "curriculum/pass_rate", *COST_METRICS):
        assert len(history[key]) == 2, key
    assert all(v > 0 for key in COST_METRICS for v in history[key]), {k: history[k] for k in COST_METRICS}
    assert history["simulator/run_requests"][1] == sum(history["simulator/requests"])
    assert run.data.params["simulator.name"] == "llm" and run.data.params["simulator.profile"] == "rlver"
    print({key: history[key] for key in (*COST_METRICS, "simulator/parse_failures")})


@pytest.mark.slow
def test_a_lora_run_checkpoints_an_adapter_that_eval_and_export_take(tiny_model, tmp_path):
    """Two steps with policy.lora on Ray: the syncs carry the adapter alone, the checkpoint is an
    adapter directory, `eval` plays it and `export` merges it into a plain model directory."""
    from mlflow import MlflowClient

    from workers.lora_adapter import is_adapter_dir

    args = ["run", "--set", "policy.lora.rank=8", "--set", "trainer.steps=2", "--set", "trainer.checkpoint_every=1"]
    args += ["--set", "rollout.groups_per_step=2", "--set", "rollout.group_size=2", "--set", "trainer.eval_every=0"]
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("goldilocks-demo").experiment_id])
    sync_bytes = [m.value for m in client.get_metric_history(run.info.run_id, "perf/sync_bytes")]
    assert len(sync_bytes) == 2 and 0 < max(sync_bytes) < 500_000, sync_bytes  # fp32: adapter 217 KB, model 4.7 MB
    checkpoint = tmp_path / "runs" / run.info.run_id / "checkpoints" / "step_000002"
    assert is_adapter_dir(checkpoint)
    evaluated = run_cli("eval", "--checkpoint", str(checkpoint), "--limit", "4", "--levels", "0.3", cwd=tmp_path)
    assert evaluated.returncode == 0 and "│   0.3 │" in evaluated.stdout, evaluated.stdout + evaluated.stderr
    exported = run_cli("export", str(checkpoint), "--out", "merged", cwd=tmp_path)
    assert exported.returncode == 0 and (tmp_path / "merged" / "config.json").is_file(), exported.stdout + exported.stderr
    again = run_cli("export", str(checkpoint), "--out", "merged", cwd=tmp_path)
    assert again.returncode == 2 and "is not empty" in again.stdout


def test_plan_says_the_7b_recipe_fits_and_what_to_turn_when_it_does_not(tmp_path):
    recipe = str(Path(__file__).resolve().parents[2] / "configs" / "rlver-qwen2.5-7b.yaml")
    fits = run_cli("plan", recipe, cwd=tmp_path)
    assert fits.returncode == 0, fits.stdout + fits.stderr
    assert "fits   learner rank (x4)" in fits.stdout and "fits   rollout worker (x4)" in fits.stdout
    assert "simulator Qwen/Qwen2.5-72B-Instruct (served by the run): 72.71B parameters" in fits.stdout
    assert "fits   simulator server (x1): 35.1 GB of 72.0 GB (vLLM's share of its GPU)" in fits.stdout
    alone = run_cli("plan", recipe, "--set", "resources.learner.num_workers=1", cwd=tmp_path)
    assert alone.returncode == 1
    assert "does not fit learner rank (x1)" in alone.stdout and "3 ranks would fit" in alone.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_plan_counts_a_served_tiny_simulator_beside_the_policy_on_cpu(tiny_model, tmp_path):
    served = ["--set", "simulator.name=llm", "--set", "simulator.model=tiny", "--set", "simulator.serve.num_workers=2"]
    planned = run_cli("plan", *served, cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "simulator tiny (served by the run)" in planned.stdout and "2 server(s) on CPU" in planned.stdout
    assert "fits   simulator server (x2)" in planned.stdout and "(the host)" in planned.stdout
