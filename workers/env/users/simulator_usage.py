"""What an `llm` user simulator costs: requests, tokens (the endpoint's own `usage` counts) and
latency, in total and per simulator server. A run against a paid or shared endpoint is budgeted
in these, a slow step is explained by them, and an unevenly loaded or failing server of the run's
own shows in its share, so every step logs them (docs: Metrics)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

EXTERNAL = ""
"""The server name of an endpoint started outside the run: counted in the totals only."""


@dataclass
class ServerUsage:
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

    def add(self, other: ServerUsage) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.unreported += other.unreported
        self.latencies_s += other.latencies_s

    def metrics(self, prefix: str) -> dict[str, float]:
        """Counts and latency percentiles under `prefix` (percentiles 0 when nothing was asked)."""
        p50, p95 = np.percentile(self.latencies_s, [50, 95]) if self.latencies_s else (0.0, 0.0)
        return {
            f"{prefix}/requests": float(self.requests),
            f"{prefix}/prompt_tokens": float(self.prompt_tokens),
            f"{prefix}/completion_tokens": float(self.completion_tokens),
            f"{prefix}/usage_unreported": float(self.unreported),
            f"{prefix}/latency_p50_s": float(p50),
            f"{prefix}/latency_p95_s": float(p95),
        }


@dataclass
class SimulatorUsage:
    """Each server's usage by its name (`server_0`, ...; EXTERNAL for an endpoint of the user's).
    A request is counted at the server that answered it, where its latency (retries on other
    servers included) ended."""

    servers: dict[str, ServerUsage] = field(default_factory=dict)
    switched: int = 0
    """Requests answered by another server than their dialogue's previous request: its prompt
    found none of the dialogue in that server's prefix cache (chat_routes.py)."""

    def record(
        self, server: str, latency_s: float, prompt_tokens: int | None, completion_tokens: int | None, switched: bool = False
    ) -> None:
        self.servers.setdefault(server, ServerUsage()).record(latency_s, prompt_tokens, completion_tokens)
        self.switched += switched

    @property
    def overall(self) -> ServerUsage:
        """Every server's counts together."""
        out = ServerUsage()
        for name in sorted(self.servers):
            out.add(self.servers[name])
        return out

    @staticmethod
    def total(parts: Iterable[SimulatorUsage]) -> SimulatorUsage:
        out = SimulatorUsage()
        for part in parts:
            for name, usage in part.servers.items():
                out.servers.setdefault(name, ServerUsage()).add(usage)
            out.switched += part.switched
        return out

    def metrics(self, served: Iterable[str] = ()) -> dict[str, float]:
        """The step's `simulator/*` cost metrics, and `simulator/<server>/*` for each server of
        `served` (the run's own: a server that answered nothing this step still shows 0), with
        `simulator/switched_requests` among them."""
        out = self.overall.metrics("simulator")
        for name in served:
            out |= self.servers.get(name, ServerUsage()).metrics(f"simulator/{name}")
        if served:
            out["simulator/switched_requests"] = float(self.switched)
        return out
