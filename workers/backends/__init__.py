"""Generation backends, looked up lazily by name so `vllm` is imported only when chosen."""

from __future__ import annotations

from workers.backends.base import Generation, GenerationBackend, SamplingConfig

BACKENDS = ("vllm", "hf")


def make_backend(
    name: str,
    model_dir: str,
    *,
    max_model_len: int,
    dtype: str,
    seed: int,
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.85,
    lora_rank: int | None = None,
    kv_cache_sequences: int | None = None,
) -> GenerationBackend:
    """`tensor_parallel_size` and `gpu_memory_utilization` are vLLM's engine knobs on GPU,
    `kv_cache_sequences` its KV cache's size on CPU; the `hf` reference path runs on one device
    and ignores them. `lora_rank`: the policy is a base plus an adapter of that rank (`model_dir`
    the base, or an adapter directory)."""
    if name == "vllm":
        from workers.backends.vllm_backend import VllmBackend

        return VllmBackend(
            model_dir,
            max_model_len=max_model_len,
            dtype=dtype,
            seed=seed,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            lora_rank=lora_rank,
            kv_cache_sequences=kv_cache_sequences,
        )
    if name == "hf":
        from workers.backends.hf_backend import HfBackend

        return HfBackend(model_dir, max_model_len=max_model_len, dtype=dtype, seed=seed)
    raise ValueError(f"rollout.backend: unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "Generation", "GenerationBackend", "SamplingConfig", "make_backend"]
