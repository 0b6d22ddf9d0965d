"""`goldilocks sweep`: an Optuna study whose trials are training runs, K at a time on Ray.

Plain Optuna plus Ray tasks, not Ray Tune: the study in Optuna's storage is already how a run's
controller keeps its state, and a sweep is the same kind of object one level up - the storage is
the whole sweep state, so re-running the command continues it, several drivers on several
machines can share a PostgreSQL study, and `optuna-dashboard` / `optuna trials` read it as is.
Tune would add a second experiment store, its own trial directories and a search-algorithm
wrapper around the same sampler, and a training run here is already a Ray job of its own actors.

The driver asks for a trial, suggests its values, and starts `run_trial` as a Ray task (no CPUs of
its own: its rollout workers and learner reserve theirs). While trials run it records their
heartbeats; a trial whose driver died (no heartbeat for `GRACE_S`) is marked failed and retried
once with the same values. Completed and pruned trials are never re-run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from orchestrator.cluster.ray_session import cpus_needed, ray_session
from orchestrator.config import ExperimentConfig, with_overrides
from orchestrator.curriculum.optuna_storage import is_journal, journal
from sweeps.search_space import suggest
from sweeps.sweep_config import SweepConfig
from sweeps.sweep_report import write_sweep_report
from sweeps.trial_task import PARENT_TAG, TRIAL_NUMBER_TAG, TrialOutcome, TrialSpec, make_pruner, run_trial

HEARTBEAT_S = 5
GRACE_S = 20
PARENT_ATTR = "mlflow_parent_run_id"
ERROR_ATTR = "error"
RETRY_OF_ATTR = "retry_of_trial"


@dataclass(frozen=True)
class SweepSummary:
    study_name: str
    storage: str
    parent_run_id: str
    best_value: float | None
    best_params: dict
    trials: dict[str, int]


def default_storage(base: ExperimentConfig, name: str) -> str:
    return f"sqlite:///{Path(base.workdir).resolve()}/sweep-{name}.db"


def absolute_paths(base: ExperimentConfig) -> ExperimentConfig:
    """Trials run in Ray worker processes, whose working directory is not the user's."""
    overrides = [f"workdir={Path(base.workdir).resolve()}"]
    uri = base.tracking.uri
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        overrides.append(f"tracking.uri=sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}")
    return with_overrides(base, overrides)


def _quiet_optuna() -> None:
    """Optuna marks heartbeats experimental and expects Study.optimize to send them; this driver
    uses ask/tell and records them itself, so those warnings tell a user nothing."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def open_study(sweep: SweepConfig, storage_url: str) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    """The sweep's study, created or continued. An RDB URL gets Optuna's heartbeats, so trials
    of a driver that died are failed and retried once; a journal file (`*.log`) has none."""
    _quiet_optuna()
    storage: optuna.storages.BaseStorage
    if is_journal(storage_url):
        storage = journal(storage_url)
    else:
        storage = RDBStorage(
            storage_url,
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    s = sweep.sampler
    samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler, "gp": optuna.samplers.GPSampler}
    study = optuna.create_study(
        study_name=sweep.name,
        storage=storage,
        sampler=samplers[s.name](seed=s.seed),
        pruner=make_pruner(sweep),
        direction=sweep.objective.direction,
        load_if_exists=True,
    )
    if study.trials:  # a continued sweep: a fresh RNG stream, or it would propose trial 0's values again
        study.sampler = samplers[s.name](seed=None if s.seed is None else s.seed + len(study.trials))
    return study, storage


def counted(study: optuna.Study) -> int:
    """Trials that use up the budget: finished ones, failures that were not crashes (a crashed
    trial is retried instead), and trials running now, here or in another driver."""
    n = 0
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
            n += 1
        elif t.state == TrialState.FAIL and ERROR_ATTR in t.user_attrs:
            n += 1
    return n


def retry_journal_orphans(study: optuna.Study, storage_url: str) -> None:
    """A journal file has no heartbeats: one driver per file, so at start every trial still
    RUNNING belongs to a driver that died, and is failed and retried once here."""
    if not is_journal(storage_url):
        return
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
        if RETRY_OF_ATTR not in t.user_attrs:
            study.enqueue_trial(t.params, user_attrs={RETRY_OF_ATTR: t.number})


def open_parent_run(study: optuna.Study, sweep: SweepConfig, base: ExperimentConfig, storage: str) -> str:
    from mlflow import MlflowClient

    from orchestrator.tracking.mlflow_tracker import experiment_id

    client = MlflowClient(tracking_uri=base.tracking.uri)
    parent = study.user_attrs.get(PARENT_ATTR)
    if parent:
        client.update_run(parent, status="RUNNING")
        return parent
    run = client.create_run(
        experiment_id(client, base.tracking.uri, base.tracking.experiment),
        run_name=f"sweep-{sweep.name}",
        tags={"sweep.study_name": sweep.name, "sweep.storage": storage, "goldilocks.kind": "sweep"},
    )
    client.log_dict(run.info.run_id, sweep.model_dump(mode="json"), "sweep/sweep.json")
    study.set_user_attr(PARENT_ATTR, run.info.run_id)
    return run.info.run_id


def start_heartbeats_of_orphans(study: optuna.Study, storage: RDBStorage) -> None:
    """A heartbeat for every RUNNING trial that has none. A driver records a trial's first
    heartbeat just after asking for it; one killed in between leaves a trial Optuna never counts as
    stale, which a re-run would wait on for ever. With a heartbeat it goes stale after `GRACE_S`
    (a live driver's own trials stay fresh: it beats them every `HEARTBEAT_S`)."""
    from sqlalchemy import text

    # Optuna has no public query for a trial's heartbeat; these are its schema's table names.
    query = text(
        "SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = :study AND t.state = 'RUNNING' AND h.trial_id IS NULL"
    )
    with storage.engine.connect() as connection:
        orphans = [row[0] for row in connection.execute(query, {"study": study._study_id})]
    for trial_id in orphans:
        storage.record_heartbeat(trial_id)


def close_orphan_runs(study: optuna.Study, tracking_uri: str, parent_run_id: str) -> None:
    """Runs of trials whose driver died stay RUNNING in MLflow; they are marked KILLED. Found by
    their tags, not the trial's run ids: a driver killed between starting a run and recording its
    id on the trial leaves a run the trial does not name."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    failed = {str(t.number) for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    if not failed:
        return
    experiment = client.get_run(parent_run_id).info.experiment_id
    runs = client.search_runs(
        [experiment], f"tags.`{PARENT_TAG}` = '{parent_run_id}' AND attributes.status = 'RUNNING'", max_results=10_000
    )
    for run in runs:
        if run.data.tags.get(TRIAL_NUMBER_TAG) in failed:
            client.set_terminated(run.info.run_id, status="KILLED")


def run_sweep(
    sweep: SweepConfig,
    base: ExperimentConfig,
    storage: str | None = None,
    n_trials: int | None = None,
    parallel: int | None = None,
    on_trial: Callable[[int, TrialOutcome, int], None] = lambda number, outcome, done: None,
) -> SweepSummary:
    import ray

    budget = n_trials or sweep.trials
    k = parallel or sweep.parallel
    base = absolute_paths(base)
    url = storage or sweep.storage or default_storage(base, sweep.name)
    Path(base.workdir).mkdir(parents=True, exist_ok=True)
    study, storage_obj = open_study(sweep, url)
    retry_journal_orphans(study, url)
    if isinstance(storage_obj, RDBStorage):
        start_heartbeats_of_orphans(study, storage_obj)
    parent = open_parent_run(study, sweep, base, url)
    session = with_overrides(base, [f"ray.num_cpus={max(1, round(k * cpus_needed(base)))}"]) if not base.ray.address else base
    status = "FAILED"
    try:
        with ray_session(session):
            task = ray.remote(run_trial).options(num_cpus=0, max_retries=0)
            running: dict = {}
            while True:
                optuna.storages.fail_stale_trials(study)
                while len(running) < k and counted(study) < budget:
                    trial = study.ask()
                    # Optuna has no public handle by which another process re-opens a running trial
                    if isinstance(storage_obj, RDBStorage):
                        storage_obj.record_heartbeat(trial._trial_id)  # from its first moment: a trial with none never goes stale
                    spec = TrialSpec(trial.number, trial._trial_id, suggest(trial, sweep.space))
                    ref = task.remote(spec, sweep, base, sweep.name, url, parent)
                    running[ref] = trial
                if not running:
                    if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                        break
                    time.sleep(HEARTBEAT_S)  # another driver's trials: wait until they finish or go stale
                    continue
                done, _ = ray.wait(list(running), num_returns=1, timeout=HEARTBEAT_S)
                if isinstance(storage_obj, RDBStorage):
                    for trial in running.values():
                        storage_obj.record_heartbeat(trial._trial_id)
                for ref in done:
                    trial = running.pop(ref)
                    outcome = _outcome(ref)
                    _tell(study, trial, outcome)
                    on_trial(trial.number, outcome, counted(study) - len(running))
        close_orphan_runs(study, base.tracking.uri, parent)
        write_sweep_report(study, parent, base.tracking.uri, sweep)
        status = "FINISHED"
    finally:
        from mlflow import MlflowClient

        MlflowClient(tracking_uri=base.tracking.uri).set_terminated(parent, status=status)
    states = [t.state.name.lower() for t in study.get_trials(deepcopy=False)]
    best = study.best_trial if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) else None
    return SweepSummary(
        sweep.name,
        url,
        parent,
        best.value if best else None,
        best.params if best else {},
        {s: states.count(s) for s in sorted(set(states))},
    )


def _outcome(ref) -> TrialOutcome:
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        return TrialOutcome("failed", message=f"{type(cause).__name__}: {cause}".splitlines()[0][:500])


def _tell(study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome) -> None:
    if outcome.state == "complete":
        study.tell(trial, outcome.value)
    elif outcome.state == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        trial.set_user_attr(ERROR_ATTR, outcome.message)
        study.tell(trial, state=TrialState.FAIL)
