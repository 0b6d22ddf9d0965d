"""How much memory a run's learner ranks and rollout workers need, before anything starts.

Arithmetic on the model's shape (its `config.json`) and the run's config: weights, gradients and
AdamW's two moments (fp32, sharded over the learner's ranks), the frozen KL reference, bf16 copies
of the weights that autocast keeps for backward, the decoder layer FSDP gathers, activations at the
configured token budget, and the output layer's fp32 logits for the policy tokens of a micro-batch.
Activations are counted tensor by tensor for a Qwen2 / Llama layer (`layer_activation_bytes`);
`bench/learner.py` sets the estimate beside a CPU learner's measured peak RSS growth on `small`
in fp32, bf16 and LoRA. A rollout worker needs its weights in the rollout dtype and vLLM's KV
cache for at least one whole dialogue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.config import ExperimentConfig
from workers.model_shape import ModelShape, projection_sizes

GB = 1024**3
FP32 = 4

NORM_VALUES_PER_HIDDEN = 6
"""fp32 values per hidden unit a decoder layer keeps for backward in its two RMSNorms (input,
normalised, weighted), which upcast to fp32 even under bf16 autocast."""

LOGIT_COPIES = 4
"""fp32 [policy tokens, vocab] tensors alive at once around the output layer: logits, log-softmax,
softmax for the entropy, and the logits' gradient."""


@dataclass(frozen=True)
class LearnerSetup:
    """What of a run's config decides a learner rank's memory."""

    ranks: int
    precision: str
    activation_checkpointing: bool
    token_budget: int
    max_len: int
    kl_reference: bool
    lora_rank: int | None = None
    lora_targets: tuple[str, ...] = ()


def layer_activation_bytes(shape: ModelShape, setup: LearnerSetup) -> float:
    """Bytes one decoder layer keeps for backward per token (Qwen2 / Llama with SDPA): the norms'
    fp32 values; the projections' inputs (one shared copy in fp32; under bf16 autocast each
    projection casts its own: q, k, v and gate, up); q, k, v and k, v repeated to every head
    (grouped-query attention), the attention's output; the MLP's gate, up, activation and
    product; and under LoRA each adapted projection's output."""
    h, i = shape.hidden, shape.intermediate
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    bf16 = setup.precision == "bf16"
    inputs = (5 * h if bf16 else 2 * h) + i
    attention = 4 * q + 2 * kv
    values = inputs + attention + 4 * i
    if setup.lora_rank:
        values += sum(projection_sizes(shape)[t][1] for t in setup.lora_targets)
    return NORM_VALUES_PER_HIDDEN * h * FP32 + values * (2 if bf16 else FP32)


def learner_parts(shape: ModelShape, setup: LearnerSetup) -> dict[str, float]:
    """Bytes one learner rank needs at its peak, by part. With activation checkpointing a layer
    keeps only its input (the fp32 residual stream) and one layer at a time holds the rest."""
    n = setup.ranks
    adapter = shape.lora_params(setup.lora_rank, setup.lora_targets) if setup.lora_rank else 0
    trained = adapter or shape.params
    tokens = setup.token_budget
    if setup.activation_checkpointing:
        activations = tokens * (shape.hidden * FP32 * shape.layers + layer_activation_bytes(shape, setup))
    else:
        activations = tokens * layer_activation_bytes(shape, setup) * shape.layers
    return {
        "weights": FP32 * (shape.params + adapter) / n,
        "gradients": FP32 * trained / n,
        "optimizer": 2 * FP32 * trained / n,
        "reference": FP32 * shape.params / n if setup.kl_reference and not adapter else 0.0,
        "bf16_weight_copies": 2 * shape.layer_params * (1 if setup.activation_checkpointing else shape.layers)
        if setup.precision == "bf16"
        else 0.0,
        "gathered_for_compute": FP32 * (2 * shape.layer_params + shape.outer_params) * (n - 1) / n,
        "activations": activations,
        "logits": LOGIT_COPIES * FP32 * tokens * shape.vocab,
    }


@dataclass(frozen=True)
class RolloutSetup:
    dtype_bytes: int
    max_model_len: int
    tensor_parallel: int
    memory_share: float
    """vLLM's gpu_memory_utilization: the share of each GPU it takes for weights and KV cache."""


def rollout_parts(shape: ModelShape, setup: RolloutSetup) -> dict[str, float]:
    """Bytes one rollout worker's engine needs per GPU: its weights, and the KV cache of one
    dialogue at the context limit (the least it can run with; more means more dialogues at once)."""
    tp = setup.tensor_parallel
    return {
        "weights": setup.dtype_bytes * shape.params / tp,
        "kv_cache_one_dialogue": shape.kv_bytes_per_token(setup.dtype_bytes) * setup.max_model_len / tp,
    }


def read_shape(model: str, seed: int = 0, key: str = "policy.model") -> ModelShape:
    """The shape of `model`: a local model or adapter directory, a `tiny` / `small` preset (built
    if not cached: its vocabulary is the tokenizer's), or a hub id found in the local hub cache or
    among the shapes shipped in configs/models/."""
    from workers.backends.model_files import local_model_dir
    from workers.policy_model.bootstrap import MODEL_SIZES, ensure_model

    if model in MODEL_SIZES:
        model = str(ensure_model(model, seed, log=lambda message: None))
    shipped = Path(__file__).resolve().parent.parent / "configs" / "models" / f"{model.replace('/', '--')}.json"
    if shipped.is_file():
        return ModelShape.from_config(json.loads(shipped.read_text()))
    try:
        directory = Path(local_model_dir(model))
    except Exception as exc:
        raise FileNotFoundError(
            f"{key} {model!r}: no config.json here to plan from ({exc}); download the model, or put its config.json at {shipped}"
        ) from None
    from workers.lora_adapter import base_model_dir, is_adapter_dir

    if is_adapter_dir(directory):
        directory = Path(base_model_dir(directory))
    return ModelShape.of_model_dir(directory)


def learner_setup(config: ExperimentConfig) -> LearnerSetup:
    a, lora = config.algo, config.policy.lora
    return LearnerSetup(
        ranks=config.resources.learner.num_workers,
        # `auto` is planned as bf16, the larger of the two: more activation copies, bf16 weight casts.
        precision="bf16" if a.precision == "auto" else a.precision,
        activation_checkpointing=a.activation_checkpointing,
        token_budget=a.max_tokens_per_micro_batch,
        max_len=config.policy.max_model_len,
        kl_reference=a.kl_coef > 0,
        lora_rank=lora.rank if lora else None,
        lora_targets=tuple(lora.target_modules) if lora else (),
    )


def rollout_setup(config: ExperimentConfig) -> RolloutSetup:
    """bf16 weights unless the config says otherwise (`auto` is bf16 on any GPU)."""
    r = config.resources.rollout
    return RolloutSetup(
        dtype_bytes=4 if config.policy.dtype == "float32" else 2,
        max_model_len=config.policy.max_model_len,
        tensor_parallel=r.tensor_parallel_size,
        memory_share=r.gpu_memory_utilization,
    )


def simulator_setup(config: ExperimentConfig) -> RolloutSetup:
    """A simulator server is a vLLM engine too: its weights and one request's KV cache at its
    context limit, per GPU it shards over."""
    serve = config.simulator.serve
    return RolloutSetup(
        dtype_bytes=4 if serve.dtype == "float32" else 2,
        max_model_len=serve.max_model_len,
        tensor_parallel=serve.tensor_parallel_size,
        memory_share=serve.gpu_memory_utilization,
    )


@dataclass(frozen=True)
class Verdict:
    actor: str
    need: float
    have: float
    where: str
    """What `have` is: a GPU, vLLM's share of one, or the host."""
    knob: str

    @property
    def fits(self) -> bool:
        return self.need <= self.have


def verdicts(
    config: ExperimentConfig, shape: ModelShape, gpu_gb: float, host_gb: float, simulator: ModelShape | None = None
) -> list[Verdict]:
    """Each actor kind's need against what its placement gives it: a GPU's memory (vLLM's share of
    it for a rollout worker or a simulator server) when it holds one, else the host's memory
    (which every actor on the node shares, so `have` is an upper bound there). On CPU a learner
    group's ranks share the host: their sum must fit it, and more ranks cost memory rather than
    save it. `simulator`: the served simulator model's shape (simulator.serve)."""
    res = config.resources
    setup = learner_setup(config)
    on_gpu = bool(res.learner.num_gpus)
    learner = sum(learner_parts(shape, setup).values()) * (1 if on_gpu else setup.ranks)
    learner_have = gpu_gb * GB if on_gpu else host_gb * GB
    rollout_setup_ = rollout_setup(config)
    rollout = sum(rollout_parts(shape, rollout_setup_).values())
    rollout_have = gpu_gb * GB * rollout_setup_.memory_share if res.rollout.num_gpus else host_gb * GB
    fitting = (
        n for n in range(setup.ranks + 1, 65) if sum(learner_parts(shape, replace(setup, ranks=n)).values()) <= learner_have
    )
    ranks = next(fitting, None) if on_gpu else None
    learner_knob = (
        (f"{ranks} ranks would fit (resources.learner.num_workers); or " if ranks else "")
        + "train an adapter (policy.lora), lower algo.max_tokens_per_micro_batch, "
        "or set algo.activation_checkpointing / algo.precision: bf16"
    )
    rollout_knob = "more GPUs per engine (resources.rollout.tensor_parallel_size), a shorter policy.max_model_len"
    learner_name = f"learner rank (x{setup.ranks})" if on_gpu else f"learner ({setup.ranks} ranks on the host)"
    rollout_where = "vLLM's share of its GPU" if res.rollout.num_gpus else "the host"
    found = [
        Verdict(learner_name, learner, learner_have, "its GPU" if on_gpu else "the host", learner_knob),
        Verdict(f"rollout worker (x{config.rollout.num_workers})", rollout, rollout_have, rollout_where, rollout_knob),
    ]
    serve = config.simulator.serve
    if simulator is not None and serve.enabled:
        setup_ = simulator_setup(config)
        need = sum(rollout_parts(simulator, setup_).values())
        have = gpu_gb * GB * setup_.memory_share if serve.num_gpus else host_gb * GB
        where = "vLLM's share of its GPU" if serve.num_gpus else "the host"
        knob = "more GPUs per server (simulator.serve.tensor_parallel_size), a shorter simulator.serve.max_model_len"
        found.append(Verdict(f"simulator server (x{serve.num_workers})", need, have, where, knob))
    return found
