"""Experiment tracking: one MLflow run per `goldilocks run`, written through MlflowClient.

The client is used with an explicit run id (no global "active run"), so the tracker can live in
the driver next to Ray without hidden state. For a sqlite store the artifacts go beside the
database file, so a run directory moved elsewhere keeps its dialogues and plots.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from orchestrator.config import ExperimentConfig, flatten


class Tracker(Protocol):
    run_id: str

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_json(self, data: Any, artifact_file: str) -> None: ...

    def log_table(self, rows: list[dict[str, Any]], artifact_file: str) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_file(self, path: Path, artifact_dir: str | None = None) -> None: ...

    def metric_history(self, key: str) -> list[tuple[int, float]]: ...

    def tag(self, key: str) -> str | None: ...

    def finish(self, status: str) -> None: ...


def _artifact_root(uri: str, experiment: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        return (db.parent / "mlartifacts" / experiment).as_uri()
    return None


EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
"""MLflow's own name for what our experiments hold: model training, not GenAI traces and judges."""
MODEL_TRAINING_VIEW = "workflowType=machine_learning"
"""MLflow 3.17's UI opens every experiment in its GenAI view (overview, traces, evaluation runs)
for a browser that has not chosen otherwise, whatever the tag says; a link with this query opens
the model-training view (runs, metrics, charts). `goldilocks ui` prints such links."""


def experiment_page(uri: str, name: str, ui: str) -> str | None:
    """The UI link that opens experiment `name` in its model-training view (None: no such experiment yet)."""
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name(name)
    if experiment is None:
        return None
    return f"{ui}/#/experiments/{experiment.experiment_id}?{MODEL_TRAINING_VIEW}"


def experiment_id(client, uri: str, name: str) -> str:
    """The experiment's id, creating it (artifacts beside a sqlite store, tagged as model
    training) on first use; an older experiment of ours without the tag gets it."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name, artifact_location=_artifact_root(uri, name), tags=EXPERIMENT_KIND)
    for key, value in EXPERIMENT_KIND.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


class MlflowTracker:
    PARAM_CHUNK = 100
    """MLflow's log_batch accepts at most 100 params per call."""

    def __init__(self, config: ExperimentConfig, resume_run_id: str | None = None, tags: dict[str, str] | None = None):
        """A new run (with extra `tags`: `mlflow.parentRunId` nests it under a sweep), or with
        `resume_run_id` the same run re-opened (RUNNING again; its params are already there)."""
        from mlflow import MlflowClient

        t = config.tracking
        self.uri = t.uri
        self.client = MlflowClient(tracking_uri=t.uri)
        self.resumed = resume_run_id is not None
        if resume_run_id is not None:
            run = self.client.get_run(resume_run_id)
            self.run_id, self.experiment_id = run.info.run_id, run.info.experiment_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        exp_id = experiment_id(self.client, t.uri, t.experiment)
        run = self.client.create_run(
            exp_id, run_name=t.run_name, tags={"goldilocks.simulator": config.simulator.name, **(tags or {})}
        )
        self.run_id = run.info.run_id
        self.experiment_id = exp_id
        self.log_params(flatten(config))
        self.log_json(config.model_dump(mode="json"), "config/resolved_config.json")

    def log_params(self, params: dict[str, Any]) -> None:
        """MLflow keeps a param's first value: logging another later is an error, which is what a
        value that must not change during a run (`learner.precision`) wants."""
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), self.PARAM_CHUNK):
            self.client.log_batch(self.run_id, params=items[i : i + self.PARAM_CHUNK])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_json(self, data: Any, artifact_file: str) -> None:
        self.client.log_dict(self.run_id, data, artifact_file)

    def log_table(self, rows: list[dict[str, Any]], artifact_file: str) -> None:
        """Written once per file; a re-done step whose table landed but whose metrics did not
        (tracking/step_log.py) replaces the table, where MLflow's log_table would append the lost
        attempt's rows to the new ones (only a resumed run can meet a file it already wrote, so
        only it looks)."""
        folder = str(Path(artifact_file).parent)
        if self.resumed and artifact_file in {
            a.path for a in self.client.list_artifacts(self.run_id, None if folder == "." else folder)
        }:
            columns = list(rows[0]) if rows else []
            table = {"columns": columns, "data": [[row[c] for c in columns] for row in rows]}
            self.client.log_dict(self.run_id, table, artifact_file)
            return
        columns_of = {key: [row[key] for row in rows] for key in rows[0]} if rows else {}
        self.client.log_table(self.run_id, data=columns_of, artifact_file=artifact_file)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_file(self, path: Path, artifact_dir: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_dir)

    def metric_history(self, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in self.client.get_metric_history(self.run_id, key)]

    def tag(self, key: str) -> str | None:
        return self.client.get_run(self.run_id).data.tags.get(key)

    def finish(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status=status)
