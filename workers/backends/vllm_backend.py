"""The product generation path: vLLM's offline engine, in-process, with in-place weight reload."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

import torch

from workers.backends.base import Generation, SamplingConfig
from workers.backends.model_files import check_weight_names, checkpoint_tensor_names, stop_token_ids
from workers.lora_adapter import adapter_rank, base_model_dir, is_adapter_dir, write_adapter
from workers.model_shape import ModelShape

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The adapter ranks vLLM's engine can be sized for (its `max_lora_rank`)."""

ENGINE_ENV = {
    # No hub is reachable; without this each engine start waits on a ~10 s hub timeout.
    "HF_HUB_OFFLINE": "1",
    # In-process engine: faster start, and tensors reach collective_rpc intact.
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    # Even eager, vLLM torch.compiles one helper on CPU: each sampled token's rank in the vocabulary,
    # an integer count nobody here reads. Tracing it cost every engine's first generation ~1.5 s;
    # run eagerly it counts the same integers. Nothing else in a run calls torch.compile.
    "TORCHDYNAMO_DISABLE": "1",
}

DEFAULT_CPU_KV_CACHE_BYTES = 1024**3
"""An engine's KV cache on CPU when nobody said how many sequences it holds."""

KV_BLOCK_ROUNDING = 256
"""Tokens a sequence can leave unused in its last KV block: the largest block vLLM's CPU backends use."""


def cpu_kv_cache_bytes(model_dir: str, dtype: str, sequences: int, max_model_len: int) -> int:
    """Room for `sequences` sequences of `max_model_len` tokens at once, each with a block of
    rounding, in `dtype`. vLLM zeroes its whole KV cache as the engine starts, and on a 2-core
    VM measured here touching fresh memory beside another process cost about 5 s a GiB: a cache
    sized to what the engine runs, rather than a fixed GiB, starts the tiny policy's workers that
    much sooner. VLLM_CPU_KVCACHE_SPACE, when exported, still wins (vLLM reads it over this)."""
    per_token = ModelShape.of_model_dir(model_dir).kv_bytes_per_token(getattr(torch, dtype).itemsize)
    return sequences * (max_model_len + KV_BLOCK_ROUNDING) * per_token


def engine_parallelism(tensor_parallel_size: int) -> dict[str, object]:
    """Tensor parallelism inside a rollout worker that Ray gave `tensor_parallel_size` GPUs: vLLM's
    multiprocessing executor over the GPUs the actor sees. Its Ray executor would try to place
    workers of its own from inside our actor's placement group, which vLLM v1 does not support."""
    if tensor_parallel_size == 1:
        return {}
    return {"tensor_parallel_size": tensor_parallel_size, "distributed_executor_backend": "mp"}


class VllmBackend:
    def __init__(
        self,
        model_dir: str,
        *,
        max_model_len: int,
        dtype: str,
        seed: int,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        lora_rank: int | None = None,
        kv_cache_sequences: int | None = None,
    ):
        """`model_dir` may be a LoRA adapter directory: its base is served with it. `lora_rank`
        sizes the engine for adapters (a fresh LoRA run starts on the bare base).
        `kv_cache_sequences`: on CPU, the sequences its KV cache holds at once (`cpu_kv_cache_bytes`);
        unset, 1 GiB."""
        for key, value in ENGINE_ENV.items():
            os.environ.setdefault(key, value)
        from vllm import LLM

        on_gpu = torch.cuda.is_available()
        if tensor_parallel_size > 1 and torch.cuda.device_count() < tensor_parallel_size:
            raise RuntimeError(
                f"resources.rollout.tensor_parallel_size={tensor_parallel_size} but this rollout worker sees "
                f"{torch.cuda.device_count()} GPU(s): set resources.rollout.num_gpus to match"
            )
        adapter = model_dir if is_adapter_dir(model_dir) else None
        if adapter is not None:
            model_dir, lora_rank = base_model_dir(adapter), adapter_rank(adapter)
        lora = {}
        if lora_rank is not None:
            fits = [r for r in LORA_RANKS if r >= lora_rank]
            if not fits:
                raise ValueError(f"policy.lora.rank {lora_rank} is above the largest vLLM serves ({LORA_RANKS[-1]})")
            lora = {"enable_lora": True, "max_lora_rank": fits[0], "max_loras": 1}
        if on_gpu:
            memory = {"gpu_memory_utilization": gpu_memory_utilization}
        elif kv_cache_sequences:
            memory = {"kv_cache_memory_bytes": cpu_kv_cache_bytes(model_dir, dtype, kv_cache_sequences, max_model_len)}
        else:
            memory = {"kv_cache_memory_bytes": DEFAULT_CPU_KV_CACHE_BYTES}
        self.llm = LLM(
            model=model_dir,
            dtype=dtype,
            max_model_len=max_model_len,
            enforce_eager=True,
            seed=seed,
            enable_prefix_caching=True,
            # Log-probs of the distribution tokens are drawn from (after temperature), the one the
            # learner scores; the default (raw) ignores the temperature.
            logprobs_mode="processed_logprobs",
            **memory,
            **engine_parallelism(tensor_parallel_size),
            **lora,
        )
        self._lora = None
        self._adapters = Path(tempfile.mkdtemp(prefix="gl-adapters-")) if lora else None
        if self._adapters is not None:
            weakref.finalize(self, shutil.rmtree, self._adapters, True)
        if adapter is not None:
            self._serve_adapter(Path(adapter), 0)
        self.tensor_parallel_size = tensor_parallel_size
        self.stop_ids = stop_token_ids(model_dir, self.llm.get_tokenizer())
        self.tensor_names = checkpoint_tensor_names(model_dir)
        self.version = 0

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[Generation]:
        from vllm import SamplingParams

        params = SamplingParams(
            max_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            stop_token_ids=[] if sampling.ignore_eos else list(self.stop_ids),
            logprobs=0,
            ignore_eos=sampling.ignore_eos,
            detokenize=False,
        )
        outputs = self.llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False, lora_request=self._lora)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            ids = list(completion.token_ids)
            logprobs = [step[tok].logprob for tok, step in zip(ids, completion.logprobs, strict=True)]
            # "stop": ended by a stop id (kept in the ids); "length": cut at max_tokens.
            results.append(Generation(ids, logprobs, completion.finish_reason == "stop"))
        return results

    def update_weights(self, state: dict[str, torch.Tensor], version: int) -> None:
        """Reload in place; vLLM's CPU backend repacks linear weights, so writing into its live
        parameters fails and `reload_weights` is the supported route. Tensors arriving from Ray's
        object store are read-only: clone, one tensor at a time. With tensor parallelism the RPC is
        pickled to vLLM's worker processes, which a generator cannot be: a list then. The prefix
        cache holds KV computed with the old weights: reset it, or the next rollout silently mixes
        old and new policies. Names are checked first: vLLM only warns about tensors it did not get."""
        check_weight_names(state, self.tensor_names)
        weights = ((name, tensor.clone()) for name, tensor in state.items())
        if self.tensor_parallel_size > 1:
            weights = list(weights)
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights})
        self.llm.reset_prefix_cache()
        self.version = version

    def update_adapter(self, tensors: dict[str, torch.Tensor], config: dict, version: int) -> None:
        """Serve the base with this adapter: written to the worker's own directory and requested
        under a new id (vLLM loads it at the next generate; the one before leaves its cache)."""
        if self._adapters is None:
            raise RuntimeError("a LoRA adapter was sent to a rollout engine started without LoRA (policy.lora)")
        self._serve_adapter(write_adapter(self._adapters / f"v{version}", tensors, config), version)
        self.version = version

    def _serve_adapter(self, directory: Path, version: int) -> None:
        from vllm.lora.request import LoRARequest

        previous = self._lora
        self._lora = LoRARequest(f"policy-v{version}", version + 1, str(directory))
        self.llm.reset_prefix_cache()
        # A sync Ray re-sends (a worker brought back) writes the same version's directory again.
        stale = previous is not None and previous.lora_path != str(directory)
        if stale and self._adapters is not None and Path(previous.lora_path).parent == self._adapters:
            shutil.rmtree(previous.lora_path, ignore_errors=True)
