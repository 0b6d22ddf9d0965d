"""The base of every experiment-config section: an unknown key is an error, and so is assigning a
bad value after loading (a `--set` on a loaded config is validated like the YAML). Sections live
beside what they configure (an actor's in `workers/`, the driver's in `orchestrator/`);
`orchestrator/config.py` composes them."""

from pydantic import BaseModel, ConfigDict


class ConfigSection(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def check_whole_gpus(tensor_parallel_size: int, num_gpus: float, what: str) -> None:
    """A vLLM engine sharded over tp GPUs holds tp whole GPUs of one node."""
    tp = tensor_parallel_size
    if tp > 1 and num_gpus != tp:
        raise ValueError(
            f"tensor_parallel_size {tp} shards {what} over {tp} whole GPUs, so num_gpus must be {tp} (got {num_gpus})"
        )
