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
