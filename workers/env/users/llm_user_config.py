"""The `llm` user's configuration: its fields of the `simulator` section (orchestrator/config.py
composes them into `SimulatorConfig`), and what a rollout worker's chat endpoint takes. Each field
is documented here once."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workers.config_section import ConfigSection
from workers.env.users.chat_routes import ServedSimulator
from workers.simulator_serve_config import SimulatorServeConfig


class LlmUserConfig(ConfigSection):
    profile: Literal["goldilocks", "rlver"] = Field(
        "goldilocks",
        description="`llm`: the user's rules. goldilocks: d drives start emotion, cues, patience and scaled changes; "
        "rlver: RLVER's released user (start 30, additive changes, five-step analysis, d picks the persona level only).",
    )
    endpoint: str | None = Field(
        None, description="`llm`: OpenAI-compatible base URL of a server started outside the run, e.g. http://HOST:8000/v1."
    )
    model: str | None = Field(
        None,
        description="`llm`: the model name the endpoint serves; with simulator.serve, the model the run serves (a "
        "directory, a hub id, or tiny / small).",
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="`llm`: environment variable holding the API key (never logged).")
    language: Literal["auto", "en", "zh"] = Field("auto", description="`llm`: prompt language; auto follows each scenario.")
    concurrency: int = Field(16, ge=1, description="`llm`: requests in flight per rollout worker.")
    timeout_s: float = Field(60.0, gt=0, description="`llm`: seconds before one request is abandoned and retried.")
    max_retries: int = Field(3, ge=0, description="`llm`: retries of a failed request (exponential backoff).")
    json_mode: bool = Field(False, description="`llm`: have the endpoint decode analyses into a JSON schema (guided decoding).")
    retry_budget_s: float = Field(
        60.0, ge=0, description="`llm`: keep retrying a failing endpoint for at least this long (rides out a restart)."
    )
    start_emotion: float | None = Field(
        None,
        ge=10,
        lt=100,
        description="`rlver`: the user's first emotion (default 30, RLVER's; SAGE evaluates at 40); outside [10, 100) "
        "the user would open already saying goodbye.",
    )
    unreadable_change: float = Field(
        -10.0,
        ge=-10,
        le=0,
        description="`llm`: the change an analysis that cannot be read counts as (rlver: after its re-asks). The worst by "
        "default, so that a reply which breaks the analyser never beats an honest judgement.",
    )
    analysis_retries: int = Field(
        3, ge=0, description="`rlver`: analyses asked for again when the last line is no readable change (then change 0)."
    )
    analysis_max_tokens: int = Field(384, ge=16, description="`rlver`: token budget of one five-step analysis.")


class LlmSettings(LlmUserConfig):
    """What a rollout worker's `llm` users take: the section's fields, the run's own servers and
    how requests are spread over them (`SimulatorConfig.llm_settings`), and the requests' fixed
    shape."""

    servers: tuple[ServedSimulator, ...] = Field(
        (), description="The run's own simulator servers (simulator.serve), which requests are spread over."
    )
    serve: SimulatorServeConfig = Field(
        SimulatorServeConfig(), description="How `servers` were started, and its `routing` over them."
    )
    backoff_s: float = Field(
        1.0, gt=0, description="The first wait before a retry; each next one doubles it, up to 30 times this."
    )
    reply_max_tokens: int = Field(128, ge=1, description="Token cap of the user's reply.")
    temperature: float = Field(0.7, ge=0, description="Sampling temperature of the user's reply.")
