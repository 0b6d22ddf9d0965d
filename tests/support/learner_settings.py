"""The learner the sync and checkpoint probes train: one that moves the tiny model visibly in a
step (a high lr, no KL), in fp32 so what a probe compares does not hang on the CPU's bf16."""

from __future__ import annotations

from workers.learner_config import LearnerSettings


def probe_learner_settings(**overrides: object) -> LearnerSettings:
    fields: dict[str, object] = {"lr": 5e-3, "kl_coef": 0.0, "max_tokens_per_micro_batch": 4096, "precision": "fp32"}
    return LearnerSettings(**(fields | overrides))
