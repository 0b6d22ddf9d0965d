import pytest

from orchestrator.cluster.job_submission import SubmitError, secret_env
from orchestrator.config import load_config


def test_an_endpoints_key_travels_and_a_served_simulator_wants_none(monkeypatch):
    monkeypatch.delenv("GL_SIM_KEY", raising=False)
    endpoint = load_config(
        None, ["simulator.name=llm", "simulator.model=m", "simulator.endpoint=http://h/v1", "simulator.api_key_env=GL_SIM_KEY"]
    )
    with pytest.raises(SubmitError, match=r"simulator\.api_key_env names GL_SIM_KEY, which is not set"):
        secret_env(endpoint)
    monkeypatch.setenv("GL_SIM_KEY", "s3cret")
    assert secret_env(endpoint) == {"GL_SIM_KEY": "s3cret"}
    monkeypatch.delenv("GL_SIM_KEY")
    served = load_config(
        None, ["simulator.name=llm", "simulator.model=tiny", "simulator.serve.num_workers=1", "simulator.api_key_env=GL_SIM_KEY"]
    )
    assert secret_env(served) == {}
