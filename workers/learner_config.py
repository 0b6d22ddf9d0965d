"""The learner's configuration: the `algo` section as a user writes it, and what the learner actor
takes, that section plus what a run derives from the others. Each field is documented here once."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workers.config_section import ConfigSection
from workers.lora_config import LoraConfig


class AlgoConfig(ConfigSection):
    """`algo`: the update the learner makes, and how the driver treats its failures."""

    advantage: Literal["grpo", "drgrpo"] = Field("grpo", description="Advantage estimator.")
    lr: float = Field(
        1e-6, gt=0, description="AdamW learning rate of the policy (RLVER's, for a 7B; the tiny demo policy sets 1e-3)."
    )
    clip_low: float = Field(0.2, ge=0, lt=1, description="PPO clip below 1 (ratio >= 1 - clip_low).")
    clip_high: float = Field(0.28, ge=0, description="PPO clip above 1; > clip_low is DAPO's clip-higher.")
    clip_ratio_c: float = Field(
        3.0, gt=1, description="Dual clip: a negative-advantage token's loss is at most -A * clip_ratio_c (verl)."
    )
    tis_cap: float | None = Field(
        2.0,
        gt=0,
        description="Truncated importance weight min(pi_learner / pi_rollout, cap) on each token's loss, correcting "
        "the rollout engine's sampling mismatch; null: none.",
    )
    loss_agg: Literal["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"] = Field(
        "token-mean",
        description="How token losses become the batch loss: every token equal (DAPO), each episode's mean then the mean "
        "over episodes (GRPO), or each episode's sum over a constant (Dr. GRPO). README, 'Algorithm'.",
    )
    warmup_steps: int = Field(0, ge=0, description="Optimizer steps of linear lr warm-up (Adam's first steps are lr-sized).")
    kl_coef: float = Field(0.0, ge=0, description="Weight of the k3 KL to the frozen initial policy.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    max_tokens_per_micro_batch: int = Field(
        8192,
        ge=1,
        description="Padded tokens (rows x longest row) per learner forward pass; rows are packed by length. "
        "Lower it when the learner runs out of memory.",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="Learner arithmetic: bf16 autocast over fp32 master weights and optimizer state, or fp32; `auto`: "
        "bf16 on a GPU, fp32 on a CPU without native bf16, and on one with it whichever an update of this model ran "
        "faster in (probed once, cached).",
    )
    activation_checkpointing: bool = Field(
        False, description="Recompute each decoder layer's activations in backward instead of keeping them (memory for time)."
    )
    shared_prefix: bool = Field(
        True,
        description="Rows that open with the same prompt (a GRPO group) share its forward in the learner: the same "
        "gradient for less compute. A lone learner without activation checkpointing only.",
    )
    ppo_epochs: int = Field(
        1, ge=1, description="Passes over each batch; the old log-probs are the learner's own, from before the first."
    )
    max_skipped_updates: int = Field(
        3, ge=1, description="Updates in a row skipped for a non-finite loss or gradient before the run stops."
    )


class LearnerSettings(AlgoConfig):
    """What the learner actor takes: the `algo` section, and the rest the run derives from the
    other sections (`ExperimentConfig.learner_settings`)."""

    temperature: float = Field(
        1.0, gt=0, description="`rollout.temperature`: the learner scores tokens under softmax(logits / T)."
    )
    loss_norm_tokens: float = Field(
        1.0, gt=0, description="Dr. GRPO's constant: the most policy tokens one episode can hold (seq-mean-token-sum-norm)."
    )
    device: str = Field(
        "cpu",
        pattern=r"^(cpu|cuda(:\d+)?)$",
        description="A torch device: `cuda` when the learner's actor holds a GPU, `cuda:N` for a rank that picks its own.",
    )
    precision_pinned: bool = Field(
        False, description="`precision` is what this run chose before its checkpoint: kept, never probed again."
    )
    lora: LoraConfig | None = Field(None, description="`policy.lora`; None: every weight trains.")
