"""Where a run's files live (`storage.uri`): a local or shared path, or an object store, read and
written through pyarrow's filesystem layer, so one code path serves a laptop, NFS and S3.

A location is a string: a path (`runs/abc`, `/mnt/nfs/runs/abc`) or a URI (`s3://bucket/prefix`,
`gs://...`, `hdfs://...`) whose query string carries what the filesystem needs besides
credentials, e.g. `s3://bucket/runs?endpoint_override=minio:9000&scheme=http`; credentials come
from the environment as each SDK reads them (AWS_ACCESS_KEY_ID, ...). A bucket that does not
exist is created (`allow_bucket_creation`). Object stores have no rename, so nothing here relies
on one: whoever needs a file to mark a write whole writes it last (checkpoints.py).

Actors on other nodes get a model directory with `fetch`, which copies a remote location into
this node's cache once (GOLDILOCKS_STORAGE_CACHE, default ~/.cache/goldilocks/storage) and
returns the local copy; a local path is returned as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "GOLDILOCKS_STORAGE_CACHE"
_FETCHED = ".fetched"
"""Written in a cache entry after the last file was copied: an entry without it is partial."""


Location = str | os.PathLike
"""A URI or a path; everything here returns locations as strings."""


def is_remote(location: Location) -> bool:
    location = os.fspath(location)
    return "://" in location and not location.startswith("file://")


def join(location: Location, *parts: str) -> str:
    """`location` / parts, keeping a URI's query string at the end."""
    base, _, query = os.fspath(location).partition("?")
    joined = "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return f"{joined}?{query}" if query else joined


def display(location: Location) -> str:
    """The location without its query string (for messages)."""
    return os.fspath(location).partition("?")[0]


def _filesystem(location: Location):
    import pyarrow.fs as pafs

    location = os.fspath(location)
    if not is_remote(location):
        return pafs.LocalFileSystem(), str(Path(location.removeprefix("file://")).resolve())
    uri = location
    if location.startswith("s3://"):
        base, _, query = location.partition("?")
        if "allow_bucket_creation" not in query:
            uri = f"{base}?{query + '&' if query else ''}allow_bucket_creation=true"
    return pafs.FileSystem.from_uri(uri)


def write_bytes(location: str, data: bytes) -> None:
    fs, path = _filesystem(location)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(data)


def write_text(location: str, text: str) -> None:
    write_bytes(location, text.encode())


def read_bytes(location: str) -> bytes:
    """Raises FileNotFoundError naming the location when there is nothing there."""
    fs, path = _filesystem(location)
    if not exists(location):
        raise FileNotFoundError(f"no file at {display(location)}")
    with fs.open_input_stream(path) as stream:
        return stream.read()


def read_text(location: str) -> str:
    return read_bytes(location).decode()


def exists(location: str) -> bool:
    import pyarrow.fs as pafs

    fs, path = _filesystem(location)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def modified(location: str) -> float:
    """When the file at `location` was last written (seconds since the epoch; 0 if unknown)."""
    fs, path = _filesystem(location)
    mtime = fs.get_file_info(path).mtime
    return mtime.timestamp() if mtime is not None else 0.0


def children(location: str) -> list[str]:
    """The names directly under `location` (none if it does not exist)."""
    import pyarrow.fs as pafs

    fs, path = _filesystem(location)
    found = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(info.base_name for info in found)


def delete(location: str) -> None:
    """Remove a file, or a directory and everything under it; nothing there is no error."""
    import pyarrow.fs as pafs

    fs, path = _filesystem(location)
    kind = fs.get_file_info(path).type
    if kind == pafs.FileType.File:
        fs.delete_file(path)
    elif kind == pafs.FileType.Directory:
        fs.delete_dir(path)


def upload(local_dir: str | Path, location: str) -> None:
    """Copy a local directory's files to `location` (a local destination too: then a copy)."""
    import pyarrow.fs as pafs

    fs, path = _filesystem(location)
    fs.create_dir(path, recursive=True)
    pafs.copy_files(str(Path(local_dir).resolve()), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def download(location: str, local_dir: str | Path) -> None:
    import pyarrow.fs as pafs

    fs, path = _filesystem(location)
    Path(local_dir).mkdir(parents=True, exist_ok=True)
    pafs.copy_files(path, str(Path(local_dir).resolve()), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())


def node_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "goldilocks" / "storage")


def fetch(location: Location) -> str:
    """A local directory holding what `location` holds: the location itself when it is a path,
    else this node's cached copy, fetched once (actors of one node that ask together wait for
    the first, under a file lock)."""
    location = os.fspath(location)
    if not is_remote(location):
        return location.removeprefix("file://")
    digest = hashlib.sha256(location.encode()).hexdigest()[:20]  # the endpoint too: two servers, two entries
    entry = node_cache() / digest
    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.parent / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (entry / _FETCHED).exists():
            shutil.rmtree(entry, ignore_errors=True)
            download(location, entry)
            (entry / _FETCHED).touch()
    return str(entry)


@contextlib.contextmanager
def staged(location: Location) -> Iterator[Path]:
    """A local directory to write into that ends up at `location`: the location itself when it
    is a path, else a temporary directory uploaded when the block ends without error."""
    location = os.fspath(location)
    if not is_remote(location):
        path = Path(location.removeprefix("file://"))
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="goldilocks-stage-") as tmp:
        yield Path(tmp)
        upload(tmp, location)
