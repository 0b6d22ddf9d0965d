"""The base of every experiment-config section: an unknown key is an error, and so is assigning a
bad value after loading (a `--set` on a loaded config is validated like the YAML)."""

from pydantic import BaseModel, ConfigDict


class ConfigSection(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
