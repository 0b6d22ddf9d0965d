"""The one translation from the experiment config to what the actors take: the rollout workers' and
the learner's settings, the `llm` simulator's and its servers' (plain dataclasses, so no config
object crosses to an actor)."""

from __future__ import annotations

from orchestrator.config import ExperimentConfig, LoraConfig, SimulatorConfig
from workers.backends import SamplingConfig
from workers.env.users.llm_simulator import LlmSettings
from workers.learner import LearnerSettings
from workers.lora_adapter import LoraSettings
from workers.rollout_worker import RolloutSettings
from workers.simulator_server import ServedSimulator, ServeSettings


def rollout_settings(config: ExperimentConfig, servers: tuple[ServedSimulator, ...] = ()) -> RolloutSettings:
    r = config.rollout
    return RolloutSettings(
        backend=r.backend,
        max_model_len=config.policy.max_model_len,
        dtype=config.policy.dtype,
        sampling=SamplingConfig(r.max_new_tokens, r.temperature, r.top_p),
        think_violation=config.policy.think_violation,
        simulator=config.simulator.name,
        max_turns=config.simulator.turn_limit,
        pass_threshold=config.simulator.pass_threshold,
        template=config.policy.template,
        llm=llm_settings(config.simulator, servers),
        tensor_parallel_size=config.resources.rollout.tensor_parallel_size,
        gpu_memory_utilization=config.resources.rollout.gpu_memory_utilization,
        lora_rank=config.policy.lora.rank if config.policy.lora else None,
    )


def lora_settings(lora: LoraConfig | None) -> LoraSettings | None:
    return None if lora is None else LoraSettings(lora.rank, lora.alpha, tuple(lora.target_modules), lora.dropout)


def learner_settings(config: ExperimentConfig, pinned_precision: str | None = None) -> LearnerSettings:
    """Dr. GRPO's constant is the most policy tokens an episode can hold: every reply at the cap.
    `pinned_precision`: what a resumed run's checkpoint recorded, which overrides `auto`."""
    a = config.algo
    return LearnerSettings(
        lr=a.lr,
        clip_low=a.clip_low,
        clip_high=a.clip_high,
        kl_coef=a.kl_coef,
        max_grad_norm=a.max_grad_norm,
        max_tokens_per_micro_batch=a.max_tokens_per_micro_batch,
        precision=pinned_precision or a.precision,
        precision_pinned=pinned_precision is not None,
        activation_checkpointing=a.activation_checkpointing,
        shared_prefix=a.shared_prefix,
        lora=lora_settings(config.policy.lora),
        ppo_epochs=a.ppo_epochs,
        warmup_steps=a.warmup_steps,
        temperature=config.rollout.temperature,
        clip_ratio_c=a.clip_ratio_c,
        tis_cap=a.tis_cap,
        loss_agg=a.loss_agg,
        loss_norm_tokens=float(config.simulator.turn_limit * config.rollout.max_new_tokens),
        device="cuda" if config.resources.learner.num_gpus else "cpu",
    )


def llm_settings(simulator: SimulatorConfig, servers: tuple[ServedSimulator, ...] = ()) -> LlmSettings | None:
    """What the rollout workers' `llm` simulators need (None for `rule`); `servers`: the run's
    own, started from simulator.serve."""
    if simulator.name != "llm":
        return None
    assert simulator.model and (simulator.endpoint or servers)
    return LlmSettings(
        endpoint=simulator.endpoint,
        servers=servers,
        model=simulator.model,
        api_key_env=simulator.api_key_env,
        language=simulator.language,
        concurrency=simulator.concurrency,
        timeout_s=simulator.timeout_s,
        max_retries=simulator.max_retries,
        json_mode=simulator.json_mode,
        profile=simulator.profile,
        start_emotion=simulator.start_emotion,
        analysis_retries=simulator.analysis_retries,
        analysis_max_tokens=simulator.analysis_max_tokens,
        retry_budget_s=simulator.retry_budget_s,
        unreadable_change=simulator.unreadable_change,
        routing=simulator.serve.routing,
        load_factor=simulator.serve.sticky_load_factor,
    )


def serve_settings(config: ExperimentConfig, model_dir: str) -> ServeSettings:
    """Each simulator server's settings; `model_dir` is simulator.model resolved (a built preset's
    directory)."""
    serve = config.simulator.serve
    assert config.simulator.model
    on_gpu = serve.num_gpus > 0
    return ServeSettings(
        model=model_dir,
        served_name=config.simulator.model,
        dtype=serve.dtype,
        max_model_len=serve.max_model_len,
        tensor_parallel_size=serve.tensor_parallel_size,
        gpu_memory_utilization=serve.gpu_memory_utilization,
        on_gpu=on_gpu,
        threads=max(1, int(serve.num_cpus)),
        cpu_kv_cache_gb=serve.cpu_kv_cache_gb,
        seed=config.seed,
        startup_timeout_s=serve.startup_timeout_s,
    )
