"""The learner: one GRPO / PPO-clip update per batch on the policy, in torch.

Plain Python (the driver wraps it in `ray.remote`). The 'old' log-probabilities are the ones the
rollout backend reported at sampling time: with one update per batch they equal the learner's own
(the weight-sync test checks it), which saves a forward pass per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from workers.rl.losses import masked_token_mean, ppo_clip_loss
from workers.rl.token_logprobs import sequence_batch, token_logprobs_and_entropy
from workers.types import TrainBatch


@dataclass(frozen=True)
class LearnerSettings:
    lr: float
    clip_low: float
    clip_high: float
    kl_coef: float
    max_grad_norm: float
    micro_batch_size: int
    ppo_epochs: int
    warmup_steps: int = 0
    weight_decay: float = 0.0
    device: str = "cpu"
    """`cuda` when the learner's actor holds a GPU (resources.learner.num_gpus)."""


TRAINING_STATE = "optimizer.pt"


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
        keeps while `model_dir` is its checkpoint (default: `model_dir`)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.settings = settings
        self.device = torch.device(settings.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("the learner was given a GPU (resources.learner.num_gpus) but torch sees no CUDA device")
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(self.device)
        self.model.train()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.pad_id = self.tokenizer.pad_token_id
        self.reference = None
        if settings.kl_coef > 0:
            self.reference = AutoModelForCausalLM.from_pretrained(reference_dir or model_dir, dtype=torch.float32)
            self.reference.to(self.device).eval().requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        # Adam's first steps move every weight by ~lr whatever the gradient's size; on a small
        # policy a full-lr first step lowered even the positive-advantage sequences' logprobs.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda n: min(1.0, (n + 1) / (settings.warmup_steps + 1))
        )
        self.version = 0

    def update(self, batch: TrainBatch) -> dict[str, float]:
        """PPO epochs over the batch, micro-batched with gradient accumulation; token-mean loss
        over all policy tokens of the batch (each micro-batch weighted by its token count). A
        non-finite loss or gradient skips the optimizer step (and any later epochs), so one bad
        batch never reaches the weights; `faults/skipped_update` says so."""
        s = self.settings
        n = len(batch.token_ids)
        total_tokens = sum(sum(m) for m in batch.policy_mask)
        if total_tokens == 0:
            raise ValueError("batch has no policy tokens to learn from")
        stats = {"pg_loss": 0.0, "kl": 0.0, "clip_frac": 0.0, "entropy": 0.0}
        grad_norms = []
        for _ in range(s.ppo_epochs):
            self.optimizer.zero_grad(set_to_none=True)
            for start in range(0, n, s.micro_batch_size):
                rows = range(start, min(n, start + s.micro_batch_size))
                ids, mask = sequence_batch([batch.token_ids[i] for i in rows], [batch.policy_mask[i] for i in rows], self.pad_id)
                old = torch.zeros(ids.shape, dtype=torch.float32)
                for r, i in enumerate(rows):
                    old[r, : len(batch.old_logprobs[i])] = torch.tensor(batch.old_logprobs[i])
                adv = torch.tensor([batch.advantages[i] for i in rows], dtype=torch.float32)[:, None]
                ids, mask, old, adv = (t.to(self.device) for t in (ids, mask, old, adv))
                attention = (ids != self.pad_id).long()
                logits = self.model(input_ids=ids, attention_mask=attention).logits
                logp, entropy = token_logprobs_and_entropy(logits, ids)
                ref_logp = None
                if self.reference is not None:
                    with torch.no_grad():
                        ref_logits = self.reference(input_ids=ids, attention_mask=attention).logits
                        ref_logp, _ = token_logprobs_and_entropy(ref_logits, ids)
                out = ppo_clip_loss(logp, old, adv.expand_as(logp), mask, s.clip_low, s.clip_high, ref_logp, s.kl_coef)
                share = mask.sum().item() / total_tokens
                (out.loss * share).backward()
                stats["pg_loss"] += out.pg_loss.item() * share / s.ppo_epochs
                stats["kl"] += out.kl.item() * share / s.ppo_epochs
                stats["clip_frac"] += out.clip_frac.item() * share / s.ppo_epochs
                stats["entropy"] += masked_token_mean(entropy.detach(), mask).item() * share / s.ppo_epochs
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.max_grad_norm)
            grad_norms.append(float(norm))
            lr = self.scheduler.get_last_lr()[0]
            skipped = not (math.isfinite(float(norm)) and all(math.isfinite(v) for v in stats.values()))
            if skipped:
                self.optimizer.zero_grad(set_to_none=True)
                break
            self.optimizer.step()
            self.scheduler.step()
        self.version += 1
        metrics = {f"actor/{k}": v for k, v in stats.items()}
        metrics["actor/grad_norm"] = sum(grad_norms) / len(grad_norms)
        metrics["actor/lr"] = lr
        metrics["faults/skipped_update"] = float(skipped)
        return metrics

    def weights(self) -> dict[str, torch.Tensor]:
        """The full state for the rollout workers, lm_head included: with tied embeddings a
        state_dict may omit it, yet vLLM-CPU keeps its own packed copy that must be refreshed."""
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        state["lm_head.weight"] = self.model.get_output_embeddings().weight.detach().to("cpu", copy=True)
        return state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, path: str) -> None:
        """Policy (HF format, loadable by vLLM) + what a resumed run needs to continue the same
        optimisation: Adam's moments, the lr schedule's position and torch's RNG."""
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

    def restore(self, path: str) -> None:
        """Continue from a checkpoint written by `save` (the weights came with `model_dir`)."""
        state = torch.load(Path(path) / TRAINING_STATE, weights_only=True, map_location="cpu")
        self.optimizer.load_state_dict(state["optimizer"])  # moves Adam's moments to the weights' device
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.version = state["version"]
