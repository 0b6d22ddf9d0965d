"""Where an Optuna study lives, from the one string a user writes: an RDB URL (sqlite:///...,
postgresql://...) or a journal file (a path ending in `.log`, Optuna's lock-file journal, for
machines that share a filesystem but no database). Optuna itself reads every string as an RDB URL,
so a journal path has to be opened here, the same way by every caller."""

from __future__ import annotations

import optuna

JOURNAL_SUFFIX = ".log"


def is_journal(url: str) -> bool:
    return url.endswith(JOURNAL_SUFFIX)


def journal(path: str) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))


def open_storage(url: str) -> str | optuna.storages.BaseStorage:
    """A journal file as Optuna's JournalStorage; an RDB URL as itself, for Optuna to open."""
    return journal(url) if is_journal(url) else url


def _fast_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_run_storage(url: str) -> str | optuna.storages.BaseStorage:
    """A run's own controller study, which the run alone writes, a step at a time. On sqlite it
    runs in WAL mode with `synchronous=NORMAL`: a commit no longer waits for the disk, which took
    a tenth of a small policy's step. A power cut can lose the last steps' trials, never corrupt
    the file; a resumed run rewinds the study to its checkpoint in any case."""
    if not url.startswith("sqlite:"):
        return open_storage(url)
    import sqlalchemy

    storage = optuna.storages.RDBStorage(url)
    sqlalchemy.event.listen(storage.engine, "connect", _fast_sqlite)
    storage.engine.dispose()
    return storage
