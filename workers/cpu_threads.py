"""How many CPU threads an actor's torch (and its vLLM engine) runs on.

Ray starts an actor with OMP_NUM_THREADS set to its CPU reservation, one core for the demo's
actors; vLLM's CPU engine, left to bind its OpenMP threads itself, keeps one core back for its
scheduler. In the synchronous loop the learner and the rollout workers never compute at once, so
each can use every core the run holds while the others wait."""

from __future__ import annotations

import os


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def use_threads(requested: int) -> int:
    """Run this process's torch on `requested` threads, at most the cores it may use; an engine
    built afterwards is told not to bind its own (it then follows torch's count)."""
    import torch

    n = max(1, min(requested, usable_cores()))
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ["VLLM_CPU_OMP_THREADS_BIND"] = "nobind"
    torch.set_num_threads(n)
    return n
