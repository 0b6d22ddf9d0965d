"""How difficulty d in [0, 1] turns into a simulated user's knobs: every effect continuous in d.

Each knob is either a continuous function of d or a probability that is: whether the opening
shows a cue, whether the user restates the need after a misfit, how many unhelpful replies they
tolerate. The randomness comes from draws fixed by the episode's seed (`EpisodeDraws`), the same
at every d, and each knob compares its draw with a threshold that only gets stricter as d rises.
So one episode played at a higher d meets a user who starts lower, shows no cue it hid at a
lower d, forgives no more and rewards no more. For a policy that does no worse for seeing a cue,
each episode can only end lower as d rises (tests/unit/workers/env/test_rule_simulator.py); for
every scripted policy the pass rate and mean reward are non-increasing in d, with the smoothness
the controller needs (tests/unit/workers/env/test_knob.py, on a 0.05 grid).

| knob              | d = 0        | d = 1       | meaning                                                    |
|-------------------|--------------|-------------|------------------------------------------------------------|
| start_emotion     | 55 +- 8      | 30 +- 8     | emotion (0-100) before the first reply (RLVER: 30)          |
| explicit cue      | always       | never       | the opening states the need: probability 1 - 2d            |
| vague cue         | always       | never       | the opening hints at it: probability 1 - d                 |
| hint on a misfit  | always       | never       | the user then restates the need: probability 1 - 2d        |
| relief            | 0.6          | 0.3         | share of (100 - emotion) a fitting reply wins back          |
| guessed relief    | relief       | relief / 2  | the same for a need the user never showed: relief x (1 - d/2) |
| penalty           | 5            | 20          | lost to a misfit (other strategy, none, fragment, echo ...) |
| hack_penalty      | 7.5          | 30          | lost to a mixed (cue-stuffed) or degenerate reply           |
| harm_penalty      | 10           | 40          | lost to a hostile, blaming, mocking or retracting reply     |
| generic_delta     | +3           | -12         | plain comfort, 3 - 15d: helps while d < 0.2                 |
| patience          | 3            | 1 - 2       | unhelpful replies tolerated: floor(3 - 2d + u), u uniform   |
| questions needed  | 1            | 2           | caring questions before the need comes out: 1 + floor(d + u) |
| disclosure        | stated       | hinted      | the need comes out stated with probability 1 - d, else hinted |
| ask_cost          | 0            | 4           | emotion a question costs (4d): asking spends a turn and a little goodwill |

Asking is the skill the hard levels demand. A question about what would help (the scorer's `ask`)
put to a user who has not shown their need brings it out once `questions_needed` have been asked;
one the user cannot answer yet is deflected and tries their patience (`rule_simulator.py` has what
else a question costs). So a cue-less hard user is reachable by asking and then answering, and
less and less by guessing (`guessed relief`).

Personalities: `negative` users take misfits harder (penalties x1.3), `passive` ones warm up
slower (relief x0.85), `avoidant` ones leave sooner (patience - 1, at least 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workers.env.scenarios.draws import unit_draw

START_JITTER = 8.0
"""Half-width of the per-episode spread of the starting emotion: users are not all alike, and a
spread turns each threshold on the emotion scale into a ramp in d instead of a step."""


GUESS_DISCOUNT = 0.5
"""Share of a fitting reply's relief a user at d = 1 withholds when the need was never shown."""

ASK_COST = 4.0
"""Emotion a caring question costs at d = 1 (it scales with d): asking spends goodwill as well as a
turn, yet little beside what the answer it brings out wins back."""


@dataclass(frozen=True)
class EpisodeDraws:
    """Uniform draws in [0, 1) fixed by the episode's seed, never by d."""

    start: float
    explicit: float
    vague: float
    patience: float
    ask: float
    disclose: float
    seed: int
    key: str

    def hint(self, turn: int) -> float:
        """The draw that decides whether the user restates the need after a misfit at `turn`."""
        return unit_draw(self.seed, self.key, "hint", turn)


def episode_draws(seed: int, key: str) -> EpisodeDraws:
    """The draws of the episode with this seed on this scenario (`key`: its id)."""
    return EpisodeDraws(
        start=unit_draw(seed, key, "start"),
        explicit=unit_draw(seed, key, "explicit"),
        vague=unit_draw(seed, key, "vague"),
        patience=unit_draw(seed, key, "patience"),
        ask=unit_draw(seed, key, "ask"),
        disclose=unit_draw(seed, key, "disclose"),
        seed=seed,
        key=key,
    )


@dataclass(frozen=True)
class RuleKnobs:
    difficulty: float
    start_emotion: float
    explicit_cue: bool
    vague_cue: bool
    relief: float
    guessed_relief: float
    """`relief` for a fitting reply to a need the user has not shown (no cue, nothing told): a
    guarded user takes a lucky guess as less of a help than an answer to what they said."""
    penalty: float
    hack_penalty: float
    harm_penalty: float
    generic_delta: float
    patience: int
    questions_needed: int
    """Caring questions asked before a user who has shown no cue reveals the need."""
    disclose_explicit: bool
    """Whether that revelation states the need (else it hints at it)."""
    ask_cost: float
    draws: EpisodeDraws

    def hint_on_miss(self, turn: int) -> bool:
        return self.draws.hint(turn) >= 2 * self.difficulty


def rule_knobs(difficulty: float, personality: str, draws: EpisodeDraws) -> RuleKnobs:
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must lie in [0, 1], got {difficulty}")
    d = difficulty
    relief = 0.6 - 0.3 * d
    penalty = 5.0 + 15.0 * d
    patience = math.floor(3 - 2 * d + draws.patience)
    if personality == "negative":
        penalty *= 1.3
    elif personality == "passive":
        relief *= 0.85
    elif personality == "avoidant":
        patience -= 1
    else:
        raise ValueError(f"unknown personality {personality!r}")
    return RuleKnobs(
        difficulty=d,
        start_emotion=55.0 - 25.0 * d + START_JITTER * (2 * draws.start - 1),
        explicit_cue=draws.explicit >= 2 * d,
        vague_cue=draws.vague >= d,
        relief=relief,
        guessed_relief=relief * (1 - GUESS_DISCOUNT * d),
        penalty=penalty,
        hack_penalty=1.5 * penalty,
        harm_penalty=2.0 * penalty,
        generic_delta=max(-penalty, 3.0 - 15.0 * d),
        patience=max(1, patience),
        questions_needed=1 + math.floor(d + draws.ask),
        disclose_explicit=draws.disclose >= d,
        ask_cost=ASK_COST * d,
        draws=draws,
    )
