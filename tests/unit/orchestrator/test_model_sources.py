"""A model the run would serve is checked before anything starts: a typo fails naming its key."""

import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.driver import train
from orchestrator.model_sources import check_model_source


def test_presets_and_model_directories_pass(tmp_path):
    check_model_source("tiny", "simulator.model")
    (tmp_path / "config.json").write_text("{}")
    check_model_source(str(tmp_path), "simulator.model")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/no/such/model", "neither a model directory nor a hub id"),
        ("./relative/missing", "neither a model directory nor a hub id"),
        ("Qwen2.5-72B-Instruct", "neither a model directory nor a hub id"),
        ("no-such-org/no-such-model", "not in the local hub cache and HF_HUB_OFFLINE is set"),
    ],
)
def test_a_model_that_is_not_there_is_named_with_its_key(name, message, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match=rf"^simulator\.model: .*{message}"):
        check_model_source(name, "simulator.model")


def test_a_directory_without_a_config_is_not_a_model(tmp_path):
    with pytest.raises(ConfigError, match=r"without config\.json"):
        check_model_source(str(tmp_path), "simulator.model")


def test_a_run_serving_a_missing_model_stops_before_its_tracking_run_or_ray(tmp_path):
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            "simulator.name=llm",
            "simulator.model=/no/such/model",
            "simulator.serve.num_workers=1",
        ],
    )
    with pytest.raises(ConfigError, match=r"simulator\.model: '/no/such/model'"):
        train(cfg, log=lambda message: None)
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "runs").exists()
