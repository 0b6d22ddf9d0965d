"""The curriculum experiment's figures from its ledger."""

from __future__ import annotations

from pathlib import Path

from bench.curriculum_design import Ledger


def summarise(ledger: Ledger, chosen: dict[str, str] | None, figure: Path) -> dict:
    return {"chosen": chosen, "runs": len(ledger.runs("main")) + len(ledger.runs("select"))}
