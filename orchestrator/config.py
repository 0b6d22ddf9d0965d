"""Experiment configuration: pydantic models loaded from YAML, with dotted `--set` overrides.

Every field is documented once, in its pydantic description, in the section beside what it
configures: an actor's in its own package (`workers/learner_config.py`: `algo`;
`workers/lora_config.py`: `policy.lora`; `workers/env/users/llm_user_config.py`: the `llm` user's
fields of `simulator`; `workers/simulator_serve_config.py`: `simulator.serve`), the driver's here
and in `curriculum/curriculum_config.py` and `cluster/resources_config.py`. This module composes
them, and builds from them what each actor takes (`learner_settings`, `rollout_settings`,
`serve_settings`, `SimulatorConfig.llm_settings`), so no other translation exists. The dotted
key of a field (`algo.lr`) is its `--set` flag, its MLflow param name, and later its Optuna
parameter name in sweeps. Unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from orchestrator.cluster.resources_config import RayConfig, ResourcesConfig
from orchestrator.curriculum.curriculum_config import CurriculumConfig
from orchestrator.stats.analysis_config import AnalysisConfig
from orchestrator.storage_config import StorageConfig
from workers.config_section import ConfigSection
from workers.env.users.llm_user_config import LlmSettings, LlmUserConfig
from workers.learner_config import AlgoConfig, LearnerSettings
from workers.lora_config import LoraConfig
from workers.simulator_serve_config import ServeSettings, SimulatorServeConfig

if TYPE_CHECKING:
    from workers.env.scenarios.scenario import Scenario
    from workers.env.users.chat_routes import ServedSimulator
    from workers.rollout_worker import RolloutSettings


class ConfigError(ValueError):
    """A config problem, with the offending key or file named in the message."""


class PolicyConfig(ConfigSection):
    model: str = Field("tiny", description="`tiny` / `tiny-long` / `small` (built locally), a model directory, or a hub id.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto",
        description="Rollout dtype; `auto`: bf16 on a GPU or a CPU with native bf16 (avx512_bf16, AMX), else fp32.",
    )
    max_model_len: int = Field(512, ge=64, description="Context limit of a whole dialogue, in tokens.")
    template: Literal["plain", "think"] = Field(
        "plain", description="`think`: reasoning in <think>...</think> before the reply; only the reply stays in the history."
    )
    think_violation: Literal["end_with_zero", "pass_through"] = Field(
        "end_with_zero",
        description="`think`: a reply that breaks the template ends the dialogue with reward 0 (`end_with_zero`), or "
        "reaches the user whole and the dialogue goes on (`pass_through`, RLVER's released code).",
    )
    lora: LoraConfig | None = Field(
        None,
        description="Train a LoRA adapter on the frozen model (PEFT): syncs and checkpoints carry the adapter only; "
        "`goldilocks export` merges it. null: train every weight.",
    )


class RolloutConfig(ConfigSection):
    backend: Literal["vllm", "hf"] = Field("vllm", description="Generation backend of the rollout workers.")
    num_workers: int = Field(1, ge=1, description="Rollout worker actors; groups are split across them.")
    group_size: int = Field(4, ge=2, description="Episodes per scenario (GRPO group size G).")
    groups_per_step: int = Field(8, ge=1, description="Scenarios per training step.")
    max_new_tokens: int = Field(40, ge=1, description="Token cap of one agent reply.")
    temperature: float = Field(
        1.0, gt=0, description="Sampling temperature; the learner scores tokens under the same logits / T."
    )
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass: only 1 (see the validation message).")
    sampling_seed: int | None = Field(
        None,
        description="Seed of the policy's token sampling (default: the run's `seed`). Changed alone, the run meets the "
        "same users in the same order and only the policy's own draws differ: an A/A pair (bench/curriculum.py).",
    )

    @field_validator("top_p")
    @classmethod
    def _full_nucleus(cls, value: float) -> float:
        if value != 1.0:
            raise ValueError(
                "top_p < 1 is not supported: nucleus sampling draws from a truncated distribution while the learner "
                "scores tokens under the full one (logits / temperature), so every PPO ratio would be off-policy "
                "without a word; lower rollout.temperature to sample more conservatively"
            )
        return value


class SimulatorConfig(LlmUserConfig):
    """`simulator`: who the policy talks with. The `llm` user's own fields are `LlmUserConfig`'s."""

    name: Literal["rule", "llm"] = Field(
        "rule", description="User simulator: `rule` (deterministic) or `llm` (a chat model: an endpoint, or served in the run)."
    )
    scenarios: Literal["en", "rlver"] = Field("en", description="Scenario bank: ours (English) or RLVER's (Chinese).")
    max_turns: int | None = Field(
        None, ge=1, le=16, description="Agent replies before the user stops (default: 3; 8 under profile rlver, as RLVER)."
    )
    pass_threshold: float = Field(70.0, gt=0, le=100, description="Final emotion that counts as a pass.")
    split: Literal["train", "all"] = Field("train", description="Scenario split used for training.")
    intents: list[str] | None = Field(
        None, description="Only users with these hidden needs (strategy names; default all eight), in training and eval."
    )
    serve: SimulatorServeConfig = SimulatorServeConfig()

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: list[str] | None) -> list[str] | None:
        from workers.env.phrases import STRATEGY_NAMES

        if value is None:
            return None
        unknown = [v for v in value if v not in STRATEGY_NAMES]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"must be distinct names out of {list(STRATEGY_NAMES)}, got {value}")
        return value

    @model_validator(mode="after")
    def _simulator_needs(self) -> SimulatorConfig:
        if self.serve.enabled and self.name != "llm":
            raise ValueError("simulator.serve.num_workers serves the llm user's model: set simulator.name=llm")
        if self.serve.enabled and self.endpoint:
            raise ValueError(
                "simulator.endpoint and simulator.serve.num_workers both set: use your own server (endpoint) or have the "
                "run serve simulator.model (serve.num_workers), not both"
            )
        if self.name == "llm" and not self.model:
            raise ValueError("simulator.name=llm needs simulator.model (the served model's name, or the model to serve)")
        if self.name == "llm" and not (self.endpoint or self.serve.enabled):
            raise ValueError(
                "simulator.name=llm needs simulator.endpoint (a server you started) or simulator.serve.num_workers >= 1 "
                "(servers the run starts)"
            )
        if self.name == "rule" and self.scenarios != "en":
            raise ValueError("the rule simulator reads English cue phrases: use simulator.scenarios=en (rlver needs llm)")
        if self.profile == "rlver" and self.name != "llm":
            raise ValueError("simulator.profile=rlver is a rule set for an LLM user: set simulator.name=llm")
        if self.start_emotion is not None and self.profile != "rlver":
            raise ValueError("simulator.start_emotion is the rlver profile's; goldilocks draws the start from the difficulty")
        return self

    @property
    def turn_limit(self) -> int:
        """`max_turns`, or the profile's default when unset (kept unset, so a sweep that switches
        the profile also switches the default)."""
        return self.max_turns or (8 if self.profile == "rlver" else 3)

    def llm_settings(self, servers: tuple[ServedSimulator, ...] = ()) -> LlmSettings | None:
        """What the rollout workers' `llm` users take (None for `rule`); `servers`: the run's own,
        started from `serve`."""
        if self.name != "llm":
            return None
        assert self.model and (self.endpoint or servers)
        return LlmSettings(**self.model_dump(include=set(LlmUserConfig.model_fields)), servers=servers, serve=self.serve)

    def scenarios_of(self, split: str) -> tuple[Scenario, ...]:
        """The scenario bank's `split`, narrowed to `intents` when set."""
        from workers.env.scenarios.scenario_bank import load_scenarios

        scenarios = load_scenarios(self.scenarios, split)
        return tuple(s for s in scenarios if s.intent in self.intents) if self.intents else scenarios


class TrainerConfig(ConfigSection):
    steps: int = Field(30, ge=1, description="Training steps.")
    pipeline: Literal["sync", "one_step_off"] = Field(
        "sync",
        description="`one_step_off`: the rollout of step t+1 runs on the weights that generated step t while the learner "
        "trains on step t (a lag of one update, corrected by the truncated importance weight, so algo.tis_cap must be set; "
        "docs: Pipelined training).",
    )
    checkpoint_every: int = Field(
        10, ge=0, description="Steps between checkpoints (0: only the last); metrics reach MLflow every step regardless."
    )
    keep_checkpoints: int = Field(3, ge=1, description="Newest checkpoints kept; older ones are deleted.")
    sample_every: int = Field(5, ge=1, description="Steps between logged sample dialogues.")
    samples_per_log: int = Field(4, ge=1, description="Dialogues per sample log.")
    eval_every: int = Field(0, ge=0, description="Steps between held-out evaluations (0: none).")
    eval_levels: list[float] = Field([0.2, 0.5, 0.8], min_length=1, description="Fixed difficulties of each evaluation.")
    eval_scenarios: int = Field(
        24, ge=1, description="Held-out scenarios per level and evaluation, stratified over the test split's situations, needs."
    )

    @model_validator(mode="after")
    def _levels_in_range(self) -> TrainerConfig:
        bad = [x for x in self.eval_levels if not 0.0 <= x <= 1.0]
        if bad:
            raise ValueError(f"eval_levels must lie in [0, 1], got {bad}")
        return self


class TrackingConfig(ConfigSection):
    uri: str = Field("sqlite:///mlflow.db", description="MLflow tracking URI.")
    experiment: str = Field("goldilocks", description="MLflow experiment name.")
    run_name: str | None = Field(None, description="MLflow run name (default: generated).")


class FaultsConfig(ConfigSection):
    max_rollout_restarts: int = Field(
        3, ge=0, description="Deaths each rollout worker survives: Ray restarts it and its unfinished groups are re-run."
    )


MOVED_KEYS = {
    "rollout.worker_cpus": "resources.rollout.num_cpus",
    "algo.learner_cpus": "resources.learner.num_cpus",
    **{
        f"faults.{key}": "the GOLDILOCKS_FAULTS environment variable, for tests only"
        for key in ("kill_rollout_worker_at_step", "kill_driver_at_step", "kill_learner_rank_at_step")
    },
}
"""Keys that moved, named in the error an old config gets."""


class ExperimentConfig(ConfigSection):
    workdir: str = Field(
        "runs", description="The driver's directory for run files: checkpoints too, unless storage.uri sends them elsewhere."
    )
    seed: int = Field(0, description="Seed of model building, scenario sampling and sampling.")
    policy: PolicyConfig = PolicyConfig()
    rollout: RolloutConfig = RolloutConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    curriculum: CurriculumConfig = CurriculumConfig()
    algo: AlgoConfig = AlgoConfig()
    trainer: TrainerConfig = TrainerConfig()
    tracking: TrackingConfig = TrackingConfig()
    ray: RayConfig = RayConfig()
    resources: ResourcesConfig = ResourcesConfig()
    faults: FaultsConfig = FaultsConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def _fits_context(self) -> ExperimentConfig:
        if self.rollout.max_new_tokens >= self.policy.max_model_len // 2:
            raise ValueError(
                f"rollout.max_new_tokens ({self.rollout.max_new_tokens}) must be below half of "
                f"policy.max_model_len ({self.policy.max_model_len}) to leave room for the dialogue"
            )
        if self.policy.lora is not None and self.storage.uri is not None:
            raise ValueError(
                "policy.lora with storage.uri is not supported: a LoRA checkpoint names its base model by a path on the "
                "learner's node, which other nodes do not have; train LoRA with storage.uri unset (one node, or workdir on a "
                "disk every node mounts)"
            )
        if self.resources.rollout.tensor_parallel_size > 1 and self.rollout.backend != "vllm":
            raise ValueError("resources.rollout.tensor_parallel_size > 1 needs rollout.backend=vllm")
        if self.trainer.pipeline == "one_step_off" and self.algo.tis_cap is None:
            raise ValueError(
                "trainer.pipeline=one_step_off trains each batch on weights one update newer than the ones that sampled "
                "it, and only the truncated importance weight corrects that lag; with algo.tis_cap=null the batch would "
                "be trained as if on-policy (at ppo_epochs 1 the PPO ratio is exactly 1). Set algo.tis_cap (2.0 is the "
                "default) or trainer.pipeline=sync"
            )
        return self

    def learner_settings(self, pinned_precision: Literal["fp32", "bf16"] | None = None) -> LearnerSettings:
        """The `algo` section with what the learner derives from the rest. Dr. GRPO's constant is
        the most policy tokens an episode can hold: every reply at the cap. `pinned_precision`:
        what a resumed run's checkpoint recorded, which overrides `auto`."""
        return LearnerSettings(
            **self.algo.model_dump(exclude={"precision"}),
            precision=pinned_precision or self.algo.precision,
            precision_pinned=pinned_precision is not None,
            lora=self.policy.lora,
            temperature=self.rollout.temperature,
            loss_norm_tokens=float(self.simulator.turn_limit * self.rollout.max_new_tokens),
            device="cuda" if self.resources.learner.num_gpus else "cpu",
        )

    def dialogues_between_updates(self) -> int:
        """The most dialogues one rollout engine runs on one version of the weights: a step's
        (two under one_step_off, where step t + 1 samples from the weights that sampled step t)
        and an evaluation's; the whole step's, not a worker's share, since a worker re-runs the
        groups of a dead peer."""
        t = self.trainer
        rollouts = 2 if t.pipeline == "one_step_off" else 1
        evaluation = t.eval_scenarios * len(t.eval_levels) if t.eval_every else 0
        return rollouts * self.rollout.groups_per_step * self.rollout.group_size + evaluation

    def kv_cache_sequences(self, dialogues: int) -> int:
        """Token sequences `dialogues` dialogues leave in a rollout engine's prefix cache: one each,
        each turn's prompt extending the last, but one a turn under the `think` template, whose
        history drops the thinking of earlier replies (a new prefix). An engine with room for all of
        them evicts no block a later prompt could reuse before its weights change and the cache is
        reset: its prefix hits are those of an unbounded cache."""
        return dialogues * (self.simulator.turn_limit if self.policy.template == "think" else 1)

    def rollout_settings(self, servers: tuple[ServedSimulator, ...] = (), dialogues: int | None = None) -> RolloutSettings:
        """What each rollout worker takes, gathered from the policy, rollout, simulator and
        resources sections; `servers`: the run's own simulator servers; `dialogues`: the most
        it runs on one version of the weights (`dialogues_between_updates` in a run)."""
        from workers.backends import SamplingConfig
        from workers.rollout_worker import RolloutSettings

        r, policy, simulator = self.rollout, self.policy, self.simulator
        return RolloutSettings(
            backend=r.backend,
            max_model_len=policy.max_model_len,
            dtype=policy.dtype,
            sampling=SamplingConfig(r.max_new_tokens, r.temperature, r.top_p),
            think_violation=policy.think_violation,
            simulator=simulator.name,
            max_turns=simulator.turn_limit,
            pass_threshold=simulator.pass_threshold,
            template=policy.template,
            llm=simulator.llm_settings(servers),
            tensor_parallel_size=self.resources.rollout.tensor_parallel_size,
            gpu_memory_utilization=self.resources.rollout.gpu_memory_utilization,
            lora_rank=policy.lora.rank if policy.lora else None,
            kv_cache_sequences=self.kv_cache_sequences(dialogues or self.dialogues_between_updates()),
        )

    def serve_settings(self, model_dir: str) -> ServeSettings:
        """Each simulator server's settings; `model_dir` is simulator.model resolved (a built
        preset's directory)."""
        assert self.simulator.model
        return ServeSettings(
            **self.simulator.serve.model_dump(), model=model_dir, served_name=self.simulator.model, seed=self.seed
        )


def format_errors(err: ValidationError, source: str) -> str:
    lines = [f"invalid config ({source}):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        if key in MOVED_KEYS:
            msg += f" (moved to {MOVED_KEYS[key]})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (['a', 'b'], value parsed as YAML, so 3 is an int and null is None)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: bad key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value {raw!r} is not valid YAML: {exc}") from None
    return key.split("."), value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for item in overrides:
        path, value = parse_override(item)
        node = raw
        for i, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {'.'.join(path)}: {'.'.join(path[: i + 1])} is not a section")
            node = child
        node[path[-1]] = value
    return raw


def default_config_path() -> Path:
    """`configs/demo.yaml` of the checkout this package runs from: the embedded default job."""
    return Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> ExperimentConfig:
    """Load YAML (the embedded demo config when no path), apply overrides, validate."""
    source = Path(path) if path else default_config_path()
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {source} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {source} must hold a mapping at top level")
    raw = apply_overrides(raw, overrides or [])
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_errors(err, str(source))) from None


def with_overrides(config: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """A validated copy of `config` with dotted overrides applied (a sweep trial's config)."""
    raw = apply_overrides(config.model_dump(mode="json"), overrides)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_errors(err, "overrides " + " ".join(overrides))) from None


def flatten(config: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value, the MLflow params of a run."""
    out: dict[str, Any] = {}
    for name in type(config).model_fields:
        value = getattr(config, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out
