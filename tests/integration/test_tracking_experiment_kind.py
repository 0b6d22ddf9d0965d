"""Our MLflow experiments carry MLflow's experiment-kind tag, so its UI opens them in the
model-training view (the browser test checks the view itself)."""

from mlflow import MlflowClient

from orchestrator.tracking.mlflow_tracker import EXPERIMENT_KIND, experiment_id


def test_new_and_older_experiments_are_tagged_as_model_training(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    fresh = experiment_id(client, uri, "fresh")
    older = client.create_experiment("older")
    assert experiment_id(client, uri, "older") == older
    for exp in (fresh, older):
        tags = client.get_experiment(exp).tags
        assert {k: tags.get(k) for k in EXPERIMENT_KIND} == EXPERIMENT_KIND
