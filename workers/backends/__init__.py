"""Generation backends, looked up lazily by name so `vllm` is imported only when chosen."""

from __future__ import annotations

from workers.backends.base import Generation, GenerationBackend, SamplingConfig

BACKENDS = ("vllm", "hf")


def make_backend(name: str, model_dir: str, *, max_model_len: int, dtype: str, seed: int) -> GenerationBackend:
    if name == "vllm":
        from workers.backends.vllm_backend import VllmBackend

        return VllmBackend(model_dir, max_model_len=max_model_len, dtype=dtype, seed=seed)
    if name == "hf":
        from workers.backends.hf_backend import HfBackend

        return HfBackend(model_dir, max_model_len=max_model_len, dtype=dtype, seed=seed)
    raise ValueError(f"rollout.backend: unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "Generation", "GenerationBackend", "SamplingConfig", "make_backend"]
