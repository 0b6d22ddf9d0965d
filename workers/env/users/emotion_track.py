"""One user's emotion over a dialogue, and what every simulator reports per turn."""

from __future__ import annotations

from dataclasses import dataclass

SATISFIED = 95.0
"""Emotion at which the user is content and says goodbye."""
CONTENT = 100.0
"""A content user's final emotion. RLVER's user says goodbye at 100; our relief approaches 100
without reaching it, so a user content at 95 or more ends at the top of the scale. Ending there
also keeps the final emotion monotone in d: a user who would have gone on at a higher d can never
end higher than one who said goodbye earlier."""


def fitting_reply_gain(emotion: float, relief: float) -> float:
    """A fitting reply wins back a share of the distress left."""
    return relief * (100.0 - emotion)


class EmotionTrack:
    """One user's emotion over a dialogue and the rules that end it, shared by every simulator so
    that d means the same everywhere: emotion stays in [0, 100]; a reply that does not raise it
    costs patience; the user says `goodbye` once content, and `leave`s when emotion is gone or
    patience runs out while still below the pass threshold (a user who feels fine does not walk
    out). A user who leaves before the last turn counts the turns they skipped as misfits
    (`walkout_cost` each, or what the reply that drove them away cost, if more: a user driven off
    by stuffing would otherwise be spared the rest of it): walking out must never be better for
    the agent than being endured, or a more impatient (harder) user would end happier."""

    def __init__(self, *, max_turns: int, pass_threshold: float):
        if max_turns < 1:
            raise ValueError("simulator.max_turns must be at least 1")
        self.max_turns = max_turns
        self.pass_threshold = pass_threshold
        self.emotion = 0.0
        self.turn = 0
        self.unhelpful = 0
        self.patience = 1
        self.walkout_cost = 0.0

    def reset(self, start_emotion: float, patience: int, walkout_cost: float = 0.0) -> None:
        self.emotion, self.patience, self.turn, self.unhelpful = start_emotion, patience, 0, 0
        self.walkout_cost = walkout_cost

    def next_turn(self) -> None:
        self.turn += 1

    def apply(self, delta: float, *, tries_patience: bool | None = None, can_leave: bool = True) -> str | None:
        """Move emotion by `delta`; returns `goodbye` / `leave` when the user ends it now. A reply
        tries the user's patience when it does not raise emotion, unless `tries_patience` says
        otherwise (a question that draws the user out costs a little and helps all the same);
        with `can_leave` off, running out of patience waits for the next reply (nobody walks out
        on being asked what they need, but the next unhelpful reply may be the last straw)."""
        self.emotion = min(100.0, max(0.0, self.emotion + delta))
        tried = delta <= 0 if tries_patience is None else tries_patience
        self.unhelpful += tried
        if self.emotion >= SATISFIED:
            self.emotion = CONTENT
            return "goodbye"
        out_of_patience = tried and can_leave and self.unhelpful >= self.patience and self.emotion < self.pass_threshold
        if self.emotion <= 0 or out_of_patience:
            skipped = self.max_turns - self.turn
            self.emotion = max(0.0, self.emotion - skipped * max(self.walkout_cost, -delta))
            return "leave"
        return None

    def charge(self, amount: float) -> None:
        """Lower emotion by `amount` (at least 0 left) without counting a reply: what the user
        settles at the end of a dialogue."""
        self.emotion = max(0.0, self.emotion - amount)

    @property
    def last_turn(self) -> bool:
        return self.turn >= self.max_turns


@dataclass(frozen=True)
class UserTurn:
    message: str
    emotion: float
    """The user's hidden emotion (0-100) after reading the agent's reply."""
    done: bool
    label: str
    """How the reply was read: a strategy, generic, mixed, degenerate, harmful, ... (`rule`);
    helped, hurt, neutral or unparsed (`llm`)."""
    parse_failures: int = 0
    """Emotion analyses of this turn the `llm` simulator could not read (`rlver` asks again; the
    label is `unparsed` when none could be read and the change counted as 0)."""
