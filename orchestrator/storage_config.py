"""The `storage:` section: where a run writes what it reads back (checkpoints, its config, its
markers), so that a cluster without a shared disk can resume, evaluate and sweep."""

from __future__ import annotations

from pydantic import Field, field_validator

from workers.config_section import ConfigSection

SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "abfs://", "file://")
"""pyarrow's filesystems (workers/storage.py)."""


class StorageConfig(ConfigSection):
    uri: str | None = Field(
        None,
        description="Where runs are stored: a path every node sees (NFS), or an object store, e.g. "
        "s3://bucket/prefix (?endpoint_override=host:port&scheme=http for MinIO or another S3 server; credentials "
        "from the environment). Unset: `workdir`, on the driver's disk, which only a one-node cluster shares.",
    )

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, uri: str | None) -> str | None:
        if uri is not None and "://" in uri and not uri.startswith(SCHEMES):
            raise ValueError(f"storage.uri {uri!r}: unknown scheme; use a path or one of {', '.join(SCHEMES)}")
        if uri is not None and not uri.strip():
            raise ValueError("storage.uri is empty: leave it unset to store runs in workdir")
        return uri
