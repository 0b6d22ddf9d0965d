"""Deterministic draws keyed by what they are for, never by how many draws came before.

A simulator's random choices (which phrasing, whether a cue shows, how patient the user is) are
functions of the episode's seed and the draw's name alone. Two consequences the tests rely on:
a dialogue is the same whatever else the worker did before it, and the same episode played at
two difficulties sees the same draws, so raising d can only make it harder (coupling).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _digest(key: tuple[object, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")


def stable_pick(options: Sequence[str], *key: object) -> str:
    """Choose one option from the key alone (Python's hash() is salted, so it is not used)."""
    return options[_digest(key) % len(options)]


def unit_draw(*key: object) -> float:
    """A uniform number in [0, 1) from the key alone."""
    return _digest(key) / 2.0**64
