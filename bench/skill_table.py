"""Where a trained policy stands on the skill ladder: held-out scores beside the oracle, the expert
and the need-blind reply, at every level.

    python bench/skill_table.py --policy start=DIR --policy trained=DIR [--levels 0.2,0.5,0.8,1.0]
                                [--limit 192] [--set key=value ...] [--results FILE]

Every row is `goldilocks eval` on the held-out users (test split, the demo's config plus `--set`)
with the same requests, so rows differ in the policy alone: each `--policy NAME=DIR` (a model or
checkpoint directory), then `oracle` (answers the hidden need every turn), `scripted:expert` (asks
while no cue has shown, then answers the cue), `scripted:matching` (answers cues, never asks) and
`scripted:advice` (need-blind: one strategy for everyone; with the demo's two needs, right half
the time). `--limit` dialogues a level, stratified over situation x need x personality. Last line:
one JSON object {"command", "commit", "cpu", "limit", "levels", "rows": {NAME: {D: {"score",
"success_rate"}}}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import commit, eval_levels, machine

BASELINES = {"oracle": "oracle", "expert": "scripted:expert", "matching": "scripted:matching", "need-blind": "scripted:advice"}
ROOT = Path(__file__).resolve().parent.parent


def evaluate(what: list[str], levels: str, limit: int, overrides: list[str], out: Path) -> dict[str, dict[str, float]]:
    """One policy's row: level -> score and success rate."""
    return {
        f"{x['level']:g}": {"score": round(x["score"], 1), "success_rate": round(x["success_rate"], 3)}
        for x in eval_levels(what, levels, limit, overrides, out, ROOT)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", action="append", default=[], help="NAME=DIR, a model or checkpoint directory")
    parser.add_argument("--levels", default="0.2,0.5,0.8,1.0")
    parser.add_argument("--limit", type=int, default=192, help="dialogues a level")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--results", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    checkpoints = dict(spec.split("=", 1) for spec in args.policy if "=" in spec)
    if len(checkpoints) != len(args.policy):
        parser.error("--policy takes NAME=DIR")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, what in [
            *((n, ["--checkpoint", d]) for n, d in checkpoints.items()),
            *((n, ["--policy", p]) for n, p in BASELINES.items()),
        ]:
            print(f"evaluating {name}", flush=True)
            rows[name] = evaluate(what, args.levels, args.limit, args.overrides, Path(scratch) / f"{name}.json")
    levels = list(next(iter(rows.values())))
    print(f"\nheld-out score (success rate) by d, {args.limit} dialogues a level:")
    print(f"{'policy':12s}" + "".join(f"{d:>16s}" for d in levels))
    for name, row in rows.items():
        print(f"{name:12s}" + "".join(f"{row[d]['score']:9.1f} ({row[d]['success_rate']:.2f})" for d in levels))
    result = {
        "command": " ".join(sys.argv),
        "commit": commit(),
        "cpu": machine(),
        "limit": args.limit,
        "levels": levels,
        "rows": rows,
    }
    if args.results:
        args.results.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
