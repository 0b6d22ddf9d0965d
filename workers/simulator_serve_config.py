"""The `simulator.serve:` section: the `llm` user's model served inside the run, by simulator
servers the run starts on Ray beside its rollout workers and learner (orchestrator/config.py
composes it; cluster/simulator_fleet.py starts the servers); and what each server takes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workers.config_section import ConfigSection, check_whole_gpus


class SimulatorServeConfig(ConfigSection):
    """Off (`num_workers: 0`) unless asked for: then `simulator.model` is the model to serve (a
    directory, a hub id, or the project's `tiny` / `small`) and no endpoint is started by hand."""

    num_workers: int = Field(
        0,
        ge=0,
        description="Simulator servers the run starts on Ray (vLLM's OpenAI-compatible server each, in the run's "
        "placement group), requests spread by `routing`. 0: none, use simulator.endpoint.",
    )
    routing: Literal["sticky", "least_loaded"] = Field(
        "sticky",
        description="sticky: each dialogue stays on one server (rendezvous hashing of its id), so every turn finds the "
        "conversation so far in that server's prefix cache; it moves only when its server is down or past "
        "sticky_load_factor times its fair share of outstanding requests. least_loaded: each request to the server "
        "with the fewest outstanding.",
    )
    sticky_load_factor: float = Field(
        1.25,
        ge=1.0,
        description="sticky: a server takes a dialogue's turn while its outstanding requests are under "
        "ceil(factor x (all outstanding + 1) / servers); else the dialogue's next server does. 1.25 as in "
        "consistent hashing with bounded loads.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights and KV cache dtype of each server; auto: bf16 on a GPU or a CPU that computes it natively."
    )
    num_cpus: float = Field(1.0, gt=0, description="Ray CPUs each server reserves (its threads on a CPU node).")
    num_gpus: float = Field(
        0.0,
        ge=0,
        description="Ray GPUs each server reserves; a fraction shares a GPU with another actor (set "
        "gpu_memory_utilization so that both fit).",
    )
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one server shards the simulator model over (one node).")
    gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="Share of each of its GPUs' memory a server may take (weights and KV cache)."
    )
    max_model_len: int = Field(
        4096, ge=256, description="Context of a served simulator request: the persona, the dialogue so far and its answer."
    )
    cpu_kv_cache_gb: float = Field(1.0, gt=0, description="KV cache of a server on CPU, in GiB (vLLM's --kv-cache-memory-bytes).")
    max_restarts: int = Field(
        3, ge=0, description="Deaths each server survives: Ray restarts it and its requests are retried on the others."
    )
    startup_timeout_s: float = Field(
        900.0, gt=0, description="How long a server may take to load its model and answer (a 72B model loads for minutes)."
    )

    @property
    def enabled(self) -> bool:
        return self.num_workers > 0

    @model_validator(mode="after")
    def _whole_gpus_for_tensor_parallel(self) -> SimulatorServeConfig:
        check_whole_gpus(self.tensor_parallel_size, self.num_gpus, "the simulator")
        return self


class ServeSettings(SimulatorServeConfig):
    """What one simulator server takes: the section, and the model and seed of the run
    (`ExperimentConfig.serve_settings`)."""

    model: str = Field(description="A model location (a directory, in storage or not) or a hub id.")
    served_name: str = Field(description="The name requests carry (`simulator.model` as the user wrote it).")
    seed: int = Field(0, description="The server's sampling seed (the run's).")

    @property
    def on_gpu(self) -> bool:
        return self.num_gpus > 0

    @property
    def threads(self) -> int:
        """CPU threads of a server on CPU: its reservation."""
        return max(1, int(self.num_cpus))
