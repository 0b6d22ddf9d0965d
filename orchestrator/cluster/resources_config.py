"""The `ray:` and `resources:` sections of the experiment config: which cluster, and what each actor
reserves on it (orchestrator/config.py loads them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from workers.config_section import ConfigSection, check_whole_gpus


class RayConfig(ConfigSection):
    address: str | None = Field(
        None,
        description="Existing cluster address (auto: the one this node belongs to); "
        "None starts a new local one, whatever RAY_ADDRESS says.",
    )
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local cluster (default: what the job needs).")


class ActorResources(ConfigSection):
    num_cpus: float = Field(1.0, gt=0, description="Ray CPUs reserved for the actor.")
    num_gpus: float = Field(
        0.0, ge=0, description="Ray GPUs reserved for the actor; a fraction shares one GPU with another actor."
    )
    custom: dict[str, float] = Field(
        {},
        description="Custom Ray resources each of these actors' bundles reserves, e.g. {learner_node: 1} to place them "
        "on the nodes started with `ray start --resources '{\"learner_node\": 8}'`.",
    )


class RolloutResources(ActorResources):
    tensor_parallel_size: int = Field(
        1, ge=1, description="GPUs one rollout worker's vLLM engine shards the policy over (one node)."
    )
    gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="Share of each of its GPUs' memory vLLM may take (weights and KV cache)."
    )

    @model_validator(mode="after")
    def _whole_gpus_for_tensor_parallel(self) -> RolloutResources:
        check_whole_gpus(self.tensor_parallel_size, self.num_gpus, "the policy")
        return self


class LearnerResources(ActorResources):
    """One learner rank's reservation; `num_workers` ranks shard the policy between them."""

    num_workers: int = Field(
        1,
        ge=1,
        description="Learner ranks: more than one shards the policy, its gradients and optimizer state over them "
        "(FSDP2; gloo on CPU, NCCL on GPU), each training on its share of the batch.",
    )

    @field_validator("num_gpus")
    @classmethod
    def _one_device(cls, value: float) -> float:
        if value > 1:
            raise ValueError(
                f"a learner rank trains on one device: at most 1 GPU, got {value}; "
                "to use more GPUs, shard over more ranks (resources.learner.num_workers)"
            )
        return value

    @model_validator(mode="after")
    def _whole_gpus_for_a_group(self) -> LearnerResources:
        if self.num_workers > 1 and 0 < self.num_gpus < 1:
            raise ValueError(
                f"learner ranks of a group each need a GPU of their own (NCCL refuses two ranks on one device): "
                f"num_gpus must be 0 or 1 with num_workers {self.num_workers}, got {self.num_gpus}"
            )
        return self


class ResourcesConfig(ConfigSection):
    """What each actor reserves. All actors of a run are placed through one Ray placement group,
    so a run starts only when every actor fits, and the same config runs on one CPU box or N GPU
    nodes."""

    rollout: RolloutResources = RolloutResources()
    learner: LearnerResources = LearnerResources()
    share_cpus: bool = Field(
        True,
        description="Synchronous loop: each phase runs on every CPU the run reserved while the other actors wait; "
        "false: each actor on its own reservation, as when rollout and learner sit on separate machines.",
    )
    placement: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = Field(
        "PACK", description="Placement group strategy: PACK keeps actors on few nodes (fast weight sync)."
    )
    placement_timeout_s: float = Field(
        600.0, gt=0, description="How long to wait for the cluster to have room (an autoscaler may add nodes)."
    )
