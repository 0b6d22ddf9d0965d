"""The curriculum experiment's design, fixed before any run: the candidates each controller family
may be tuned over, the seeds and warm starts of each phase, the declared comparison set, and the
ledger that lets the experiment continue across sessions.

Everything here is decided before a single run, so the bench's JSON can quote it as the protocol
and a later session cannot move it after seeing results.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.stats.analysis_config import AnalysisConfig

START_MODEL = "tiny-long"
START_MODEL_SEED = 0
"""Every warm start continues one built `START_MODEL` (a preset is built per seed, ~8 minutes
each): warm starts differ by their RL trajectory, not by their pre-training."""
WARM_START_STEPS = 60
STEPS = 60
EVALUATIONS = 5
EVAL_PER_SCENARIO = 24
"""Held-out dialogues per scenario and evaluation (288 over the demo's 12). The earlier run's 48
gave a standard error of at most 1.49 an evaluation, small beside the 3.6-4.7 points a seed moves
the AUC: compute goes to seeds, not to evaluation dialogues (half as many raise one AUC's
evaluation noise from ~0.7 to ~0.9 points)."""
TARGET_SHARE = 0.6
PINNED = ["algo.precision=fp32", "policy.dtype=bfloat16"]
"""What `auto` chose for the first runs here (a 2-core EPYC with avx512_bf16), fixed for every run
and warm start: the learner's probe measured bf16 within 4 % of fp32 on this policy, so a busier
machine could have flipped a later run's arithmetic and given two rows of a pair different maths."""
GRID = [round(0.05 * i, 2) for i in range(21)]

CANDIDATES: dict[str, dict[str, list[str]]] = {
    "fixed": {
        f"fixed@{d}": ["curriculum.controller=fixed", f"curriculum.initial_difficulty={d}"] for d in (0.2, 0.35, 0.5, 0.65)
    },
    "band": {
        f"band@{c}": [
            "curriculum.controller=band",
            "curriculum.initial_difficulty=0.1",
            f"curriculum.band=[{c - 0.1:.2f},{c + 0.1:.2f}]",
        ]
        for c in (0.35, 0.5, 0.65, 0.8)
    },
    "progress": {
        "progress": ["curriculum.controller=progress"],
        "progress/eps0.5": ["curriculum.controller=progress", "curriculum.progress_epsilon=0.5"],
        "progress/low": ["curriculum.controller=progress", "curriculum.progress_levels=[0.2,0.35,0.5,0.65]"],
        "progress/low-eps0.5": [
            "curriculum.controller=progress",
            "curriculum.progress_levels=[0.2,0.35,0.5,0.65]",
            "curriculum.progress_epsilon=0.5",
        ],
    },
}
"""The same tuning budget for every family: four candidates each, chosen between on the
selection pairs alone. `fixed` tunes its level over the grid 0.2-0.65; `band` the pass rate it
aims at (its band's centre, width 0.2); `progress` its exploration and the levels it picks from."""

AA_ROW = "band/aa"
"""`band` (its chosen candidate) again with only the policy's sampling seed moved: the real A/A."""
AA_SAMPLING_OFFSET = 1000
MAIN_ROWS = ["fixed", "band", "progress", AA_ROW]

SELECTION_PAIRS = 2
PLAN = AnalysisConfig(
    metric="auc",
    reference="fixed",
    comparisons=["band", "progress"],
    secondary_metrics=["final"],
    alpha=0.05,
    margin=2.0,
    effect=3.0,
    power=0.8,
)
"""Declared before the runs: does an adaptive controller, tuned like the fixed level, differ from
the best fixed level on the held-out AUC? Two comparisons, Holm-corrected; the final score and the
A/A are exploratory."""


@dataclass(frozen=True)
class Pair:
    """One warm start and the seed every row's run of it uses. Each pair has a warm start of its
    own: for a fixed number of runs that samples the most warm-start variance and keeps the most
    degrees of freedom (orchestrator/stats/hierarchical.py)."""

    phase: str
    index: int

    @property
    def warm_start(self) -> str:
        return f"{self.phase}-ws{self.index}"

    @property
    def warm_start_seed(self) -> int:
        """Never a run's seed: a run must not replay its own warm start's users and episodes."""
        return (20_000 if self.phase == "select" else 30_000) + self.index

    @property
    def seed(self) -> int:
        return (10_000 if self.phase == "select" else 1) + self.index


def seeds_are_disjoint(pairs: list[Pair]) -> bool:
    runs = {p.seed for p in pairs}
    starts = {p.warm_start_seed for p in pairs}
    aa = {p.seed + AA_SAMPLING_OFFSET for p in pairs}
    return not (runs & starts) and not (aa & runs) and not (aa & starts) and len(runs) == len(pairs)


def weights_sha256(checkpoint: Path) -> str:
    """The identity of a warm start: its weight files' bytes (not its bookkeeping)."""
    digest = hashlib.sha256()
    files = sorted(checkpoint.rglob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{checkpoint}: no *.safetensors weights")
    for path in files:
        digest.update(path.relative_to(checkpoint).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Ledger:
    """Every finished run and warm start, one JSON line each, committed with the results so a
    later session continues the experiment instead of restarting it. A run is only ever paired
    with runs of the same warm-start weights: when a warm start is rebuilt and its weights differ,
    the runs recorded on the old ones are dropped (and said so)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: list[dict] = []
        if path.is_file():
            self.entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def warm_start(self, name: str) -> dict | None:
        return next((e for e in reversed(self.entries) if e["kind"] == "warm_start" and e["name"] == name), None)

    def run(self, phase: str, candidate: str, row: str, pair: str) -> dict | None:
        wanted = {"kind": "run", "phase": phase, "candidate": candidate, "row": row, "pair": pair}
        return next((e for e in self.entries if all(e.get(k) == v for k, v in wanted.items())), None)

    def runs(self, phase: str) -> list[dict]:
        return [e for e in self.entries if e["kind"] == "run" and e["phase"] == phase]

    def record_warm_start(self, name: str, seed: int, sha: str) -> list[dict]:
        """Record the warm start's weights; returns the runs dropped because they started from
        other weights under the same name."""
        known = self.warm_start(name)
        dropped: list[dict] = []
        if known is not None and known["sha256"] == sha:
            return dropped
        if known is not None:
            dropped = [e for e in self.entries if e["kind"] == "run" and e["pair"] == name]
            self.entries = [e for e in self.entries if e not in dropped and e is not known]
        self.entries.append({"kind": "warm_start", "name": name, "seed": seed, "sha256": sha})
        self._write()
        return dropped

    def record_run(self, entry: dict) -> None:
        self.entries.append({"kind": "run", **entry})
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in self.entries))
        tmp.replace(self.path)
