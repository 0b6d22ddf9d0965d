"""Shared fixtures: the project's own tiny policy, built once per test session in a temp cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> str:
    """A session-wide model cache; subprocesses (e2e) get it through GOLDILOCKS_CACHE."""
    path = str(tmp_path_factory.mktemp("model-cache"))
    previous = os.environ.get("GOLDILOCKS_CACHE")
    os.environ["GOLDILOCKS_CACHE"] = path
    yield path
    if previous is None:
        os.environ.pop("GOLDILOCKS_CACHE", None)
    else:
        os.environ["GOLDILOCKS_CACHE"] = previous


@pytest.fixture(scope="session")
def tiny_model(model_cache) -> str:
    from workers.policy_model.bootstrap import ensure_model

    return str(ensure_model("tiny", seed=0, log=lambda message: None))


@pytest.fixture(scope="session")
def vllm_worker(tiny_model):
    """One in-process vLLM engine for the whole session: it is heavy to start, and several
    in-process engines in one interpreter are not something vLLM promises to support."""
    from workers.backends import SamplingConfig
    from workers.rollout_worker import RolloutSettings, RolloutWorker

    settings = RolloutSettings(
        backend="vllm",
        max_model_len=512,
        dtype="float32",
        sampling=SamplingConfig(max_new_tokens=40),
        simulator="rule",
        max_turns=3,
        pass_threshold=70.0,
    )
    return RolloutWorker(tiny_model, settings, seed=0)


@pytest.fixture
def openai_stub():
    """A scripted OpenAI-compatible server on 127.0.0.1 (see tests/support/openai_stub.py)."""
    from tests.support.openai_stub import OpenAIStub

    with OpenAIStub() as stub:
        yield stub
