"""The deterministic `rule` simulator: an emotion model driven by the strategy scorer.

Per agent reply: the scorer labels the reply; a label equal to the hidden intent wins back
`relief` of the distress left, plain comfort moves emotion by `generic_delta`, a stuffed or
degenerate reply costs `hack_penalty`, anything else lowers it by `penalty` (knobs in
`difficulty.py`). The user says goodbye once content (emotion >= 95), leaves when emotion hits 0
or when unhelpful replies exhaust their patience while below the pass threshold, and otherwise
stops at max turns. Pass = final emotion >= the pass threshold.
"""

from __future__ import annotations

from workers.env.difficulty import RuleKnobs, rule_knobs
from workers.env.phrases import phrase_bank
from workers.env.scenario_bank import Scenario
from workers.env.simulator import EmotionTrack, UserTurn, fitting_reply_gain, stable_pick
from workers.env.strategy_scorer import DEGENERATE, GENERIC, MIXED, judge_reply


class RuleSimulator:
    def __init__(self, *, max_turns: int, pass_threshold: float, seed: int = 0):
        self.track = EmotionTrack(max_turns=max_turns, pass_threshold=pass_threshold)
        self.seed = seed
        self._scenario: Scenario | None = None
        self._knobs: RuleKnobs | None = None

    @property
    def emotion(self) -> float:
        return self.track.emotion

    def start(self, scenario: Scenario, difficulty: float) -> str:
        self._scenario = scenario
        self._knobs = rule_knobs(difficulty, scenario.personality)
        self.track.reset(self._knobs.start_emotion, self._knobs.patience)
        bank = phrase_bank()
        cues = bank.strategies[scenario.intent]
        parts = [scenario.situation, self._pick(bank.feelings[scenario.personality], "feeling")]
        if self._knobs.vague_cue:
            parts.append(self._pick(cues.vague, "vague"))
        if self._knobs.explicit_cue:
            parts.append(self._pick(cues.explicit, "explicit"))
        return " ".join(parts)

    def step(self, agent_reply: str) -> UserTurn:
        if self._scenario is None or self._knobs is None:
            raise RuntimeError("RuleSimulator.step called before start")
        knobs, bank = self._knobs, phrase_bank()
        self.track.next_turn()
        label = judge_reply(agent_reply).label
        if label == self._scenario.intent:
            delta = fitting_reply_gain(self.emotion, knobs.relief)
        elif label == GENERIC:
            delta = knobs.generic_delta
        elif label in (MIXED, DEGENERATE):
            delta = -knobs.hack_penalty
        else:
            delta = -knobs.penalty
        end = self.track.apply(delta)
        if end == "goodbye":
            return UserTurn(self._pick(bank.reactions["goodbye"], "bye"), self.emotion, True, label)
        if end == "leave":
            return UserTurn(self._pick(bank.reactions["leave"], "leave"), self.emotion, True, label)
        return UserTurn(self._reaction(delta, label), self.emotion, self.track.last_turn, label)

    def _reaction(self, delta: float, label: str) -> str:
        knobs, bank = self._knobs, phrase_bank()
        assert knobs is not None and self._scenario is not None
        if delta > 0:
            return self._pick(bank.reactions["better"], "better")
        if label == GENERIC and delta == 0:
            return self._pick(bank.reactions["neutral"], "neutral")
        if knobs.hint_on_miss:
            hint = self._pick(bank.strategies[self._scenario.intent].explicit, "hint")
            return self._pick(bank.reactions["worse_hint"], "worse").format(hint=hint)
        if knobs.penalty > 15:
            return self._pick(bank.reactions["sarcastic"], "sarcastic")
        return self._pick(bank.reactions["worse"], "worse")

    def _pick(self, options: tuple[str, ...], kind: str) -> str:
        assert self._scenario is not None
        return stable_pick(options, self.seed, self._scenario.id, self.track.turn, kind)
