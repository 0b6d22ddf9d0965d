"""A learner group: N learner processes in one torch.distributed group, the policy sharded over
them with FSDP2 (`torch.distributed.fsdp.fully_shard`, as verl and torchtitan shard theirs).

Each rank holds 1/N of every weight, gradient and Adam moment; a decoder layer's full weights
exist only while that layer runs. What leaves the group is always whole: the weights a sync sends
and the checkpoints written are gathered full state dicts, so a checkpoint does not remember how
many ranks wrote it (2 ranks resume on 1 and the other way round). gloo on CPU, NCCL on GPU."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

COLLECTIVE_TIMEOUT = timedelta(minutes=30)
"""How long a rank waits in a collective for the others. A rank that dies leaves the rest waiting
here; the driver does not wait for it - it sees the death and stops the group
(`orchestrator.cluster.learner_group`)."""


@dataclass(frozen=True)
class GroupSpec:
    """Where the group meets: rank 0's node address and a port free there."""

    rank: int
    world_size: int
    address: str
    port: int


def rendezvous_address() -> tuple[str, int]:
    """This node's address and a free TCP port on it: run in rank 0's placement bundle."""
    import ray

    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    return ray.util.get_node_ip_address(), port


def join(spec: GroupSpec, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL binds each rank to the device it computes on
    dist.init_process_group(
        "nccl" if device.type == "cuda" else "gloo",
        init_method=f"tcp://{spec.address}:{spec.port}",
        rank=spec.rank,
        world_size=spec.world_size,
        timeout=COLLECTIVE_TIMEOUT,
    )


def leave() -> None:
    """Meet the other ranks, then take this one out of the group `join` made. A process that
    exits with its gloo group still up can abort in the group's destructor ("terminate called
    without an active exception"), failing a run that had finished."""
    dist.barrier()
    dist.destroy_process_group()


def shard(module: torch.nn.Module, inner, device: torch.device, world_size: int) -> None:
    """FSDP2 over `module`: each decoder layer of `inner` (the classes its HF config names as
    never to be split) a unit, the rest (embeddings, final norm, output layer) the root unit.
    FSDP averages gradients over ranks, while each rank's loss is already weighted by the whole
    batch's token counts (`losses.token_weights`): the learner scales its loss by the group's
    size so that the average is the batch's gradient (gloo has no pre-scaled sum to do it here)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    # Explicit: left to itself FSDP2 would put a gloo group's shards on a GPU it happens to see.
    mesh = init_device_mesh(device.type, (world_size,))
    layer_classes = set(getattr(inner, "_no_split_modules", None) or ())
    layers = [m for m in module.modules() if type(m).__name__ in layer_classes]
    if not layers:
        raise ValueError(f"{type(inner).__name__} names no decoder layer class (_no_split_modules): cannot shard it")
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(module, mesh=mesh)


def full_state(module: torch.nn.Module, trainable_only: bool = False) -> dict[str, torch.Tensor]:
    """The module's whole state dict (its trained parameters only, with `trainable_only`) on CPU,
    on rank 0 (empty elsewhere); every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=trainable_only)
    return get_model_state_dict(module, options=options)


def full_optimizer_state(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state keyed by parameter name (not position): the same for any number of
    ranks. On rank 0 when sharded (empty elsewhere); every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    return get_optimizer_state_dict(module, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def load_full_optimizer_state(module: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """`full_optimizer_state`'s output back into the optimizer: rank 0 passes it, the others an
    empty dict and receive their shards from rank 0."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict
    from torch.distributed.fsdp import FSDPModule

    # Keyed on the module's shards, not on `dist.is_initialized()`: an in-process vLLM engine initialises
    # a process group of its own, which does not make this learner one of a group.
    sharded = any(isinstance(m, FSDPModule) for m in module.modules())
    by_position = any(isinstance(k, int) for k in state.get("state", {}))
    if by_position and sharded:
        raise ValueError(
            "this checkpoint's optimizer state is by position (written before learner groups): resume it on one "
            "learner (resources.learner.num_workers=1), whose next checkpoint any group can resume"
        )
    if by_position:
        optimizer.load_state_dict(state)
        return
    options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=sharded)
    set_optimizer_state_dict(module, optimizer, state, options=options)


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over the learner group; only a rank of one may call it."""
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def local(value: torch.Tensor) -> torch.Tensor:
    """A plain tensor from a possibly distributed one (a sharded model's grad norm is a DTensor)."""
    from torch.distributed.tensor import DTensor

    return value.full_tensor() if isinstance(value, DTensor) else value
