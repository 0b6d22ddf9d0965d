"""How the `rule` simulator's difficulty d in [0, 1] turns into concrete knobs.

Every knob moves monotonically with d (the user starts sadder, reveals less, rewards a fitting
reply less, punishes a misfit more, tolerates fewer unhelpful turns), which is what makes the pass
rate of any fixed policy non-increasing in d. Personality scales the knobs but never reverses them.

A fitting reply relieves a share (`relief`) of the distress still left, 100 - emotion, rather than a
fixed number of points: each further good turn helps less, emotion approaches 100 without
overshooting, and a policy's final emotion falls smoothly as d rises.

| knob              | d = 0 | d = 1 | meaning                                                    |
|-------------------|-------|-------|------------------------------------------------------------|
| start_emotion     | 55    | 30    | emotion (0-100) before the first agent reply (RLVER: 30)    |
| explicit cue      | yes   | no    | the opening states the need outright while d < 1/3          |
| vague cue         | yes   | no    | the opening hints at the need while d < 0.9                 |
| hint_on_miss      | yes   | no    | after a misfit the user restates the need while d < 1/2     |
| relief            | 0.6   | 0.3   | share of (100 - emotion) a fitting reply wins back          |
| penalty           | 5     | 20    | emotion lost by a misfit or an unrecognisable reply         |
| hack_penalty      | 7.5   | 30    | emotion lost by a mixed (cue-stuffed) or degenerate reply   |
| generic_delta     | +6    | -20   | plain comfort: helps while d < 0.1, a misfit from d = 1/4   |
| patience          | 3     | 1     | unhelpful replies tolerated before the user leaves          |

Personalities: `negative` users take misfits harder (penalty x1.3), `passive` ones warm up
slower (relief x0.85), `avoidant` ones leave sooner (patience - 1, at least 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleKnobs:
    start_emotion: float
    explicit_cue: bool
    vague_cue: bool
    hint_on_miss: bool
    relief: float
    penalty: float
    hack_penalty: float
    generic_delta: float
    patience: int


def rule_knobs(difficulty: float, personality: str) -> RuleKnobs:
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must lie in [0, 1], got {difficulty}")
    d = difficulty
    relief = 0.6 - 0.3 * d
    penalty = 5.0 + 15.0 * d
    patience = round(3 - 2 * d)
    if personality == "negative":
        penalty *= 1.3
    elif personality == "passive":
        relief *= 0.85
    elif personality == "avoidant":
        patience = max(1, patience - 1)
    else:
        raise ValueError(f"unknown personality {personality!r}")
    return RuleKnobs(
        start_emotion=55.0 - 25.0 * d,
        explicit_cue=d < 1 / 3,
        vague_cue=d < 0.9,
        hint_on_miss=d < 0.5,
        relief=relief,
        penalty=penalty,
        hack_penalty=1.5 * penalty,
        generic_delta=max(-penalty, 6.0 - 60.0 * d),
        patience=patience,
    )
