"""What an `llm` user simulator costs: requests, tokens (the endpoint's own `usage` counts) and
latency. A run against a paid or shared endpoint is budgeted in these, and a slow step is
explained by them, so every step logs them (README, "Metrics")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SimulatorUsage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unreported: int = 0
    """Answers whose endpoint sent no `usage` (their tokens are not in the counts)."""
    latencies_s: list[float] = field(default_factory=list)
    """Wall time of each request, retries included: what a dialogue waited."""

    def record(self, latency_s: float, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        self.requests += 1
        self.latencies_s.append(latency_s)
        if prompt_tokens is None or completion_tokens is None:
            self.unreported += 1
            return
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    @staticmethod
    def total(parts: Iterable[SimulatorUsage]) -> SimulatorUsage:
        out = SimulatorUsage()
        for part in parts:
            out.requests += part.requests
            out.prompt_tokens += part.prompt_tokens
            out.completion_tokens += part.completion_tokens
            out.unreported += part.unreported
            out.latencies_s += part.latencies_s
        return out

    def metrics(self) -> dict[str, float]:
        """The step's `simulator/*` cost metrics (latency percentiles 0 when nothing was asked)."""
        p50, p95 = np.percentile(self.latencies_s, [50, 95]) if self.latencies_s else (0.0, 0.0)
        return {
            "simulator/requests": float(self.requests),
            "simulator/prompt_tokens": float(self.prompt_tokens),
            "simulator/completion_tokens": float(self.completion_tokens),
            "simulator/usage_unreported": float(self.unreported),
            "simulator/latency_p50_s": float(p50),
            "simulator/latency_p95_s": float(p95),
        }
