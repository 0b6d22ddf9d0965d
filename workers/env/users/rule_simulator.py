"""The deterministic `rule` simulator: an emotion model driven by the strategy scorer.

Per agent reply the scorer labels the reply (reading it beside everything the user has said, so
echoed words earn nothing), and the label moves emotion (knobs in `difficulty.py`):

* the hidden need's strategy wins back `relief` of the distress left (`guessed_relief` while the
  user has shown no cue of it: a lucky guess is less of a help than an answer to what they said);
* plain comfort moves it by `generic_delta`;
* a caring question (`ask`) to a user who has not shown their need costs `ask_cost`, and once
  `questions_needed` have been asked brings the need out, stated or hinted. One the user cannot
  answer yet tries their patience, though nobody walks out on a question. Questions that no
  fitting reply followed count as misfits when the dialogue ends: a question pays only through
  the answer it lets the agent give, never as a cheap way to spend a turn;
* a question after the need was shown tells the user nobody listened: it costs `harm_penalty`,
  as a hostile, blaming or mocking reply does;
* a stuffed or degenerate reply costs `hack_penalty`, anything else `penalty`.

The user says goodbye once content, leaves when emotion hits 0 or when unhelpful replies exhaust
their patience while below the pass threshold, and otherwise stops at max turns. Pass = final
emotion >= the pass threshold.
"""

from __future__ import annotations

from workers.env.phrases import detect_intent, phrase_bank
from workers.env.scenarios.draws import stable_pick
from workers.env.scenarios.scenario import Scenario, realise
from workers.env.scorer.strategy_scorer import ASK, DEGENERATE, GENERIC, HARMFUL, MIXED, judge_reply
from workers.env.users.difficulty import RuleKnobs, episode_draws, rule_knobs
from workers.env.users.emotion_track import EmotionTrack, UserTurn, fitting_reply_gain


class RuleSimulator:
    def __init__(self, *, max_turns: int, pass_threshold: float, seed: int = 0):
        self.track = EmotionTrack(max_turns=max_turns, pass_threshold=pass_threshold)
        self.seed = seed
        self._scenario: Scenario | None = None
        self._knobs: RuleKnobs | None = None
        self._heard: list[str] = []
        self._questions = 0
        self._unanswered = 0
        """Questions that drew the user out since the last fitting reply."""

    @property
    def emotion(self) -> float:
        return self.track.emotion

    def start(self, scenario: Scenario, difficulty: float) -> str:
        self._scenario = realise(scenario, self.seed)
        self._knobs = rule_knobs(difficulty, scenario.personality, episode_draws(self.seed, scenario.id))
        self.track.reset(self._knobs.start_emotion, self._knobs.patience, walkout_cost=self._knobs.penalty)
        bank = phrase_bank()
        cues = bank.strategies[scenario.intent]
        parts = [self._scenario.situation, self._pick(bank.feelings[scenario.personality], "feeling")]
        if self._knobs.vague_cue:
            parts.append(self._pick(cues.vague[scenario.split], "vague"))
        if self._knobs.explicit_cue:
            parts.append(self._pick(cues.explicit[scenario.split], "explicit"))
        opening = " ".join(parts)
        self._heard = [opening]
        self._questions = 0
        self._unanswered = 0
        return opening

    def step(self, agent_reply: str) -> UserTurn:
        if self._scenario is None or self._knobs is None:
            raise RuntimeError("RuleSimulator.step called before start")
        knobs, bank = self._knobs, phrase_bank()
        self.track.next_turn()
        label = judge_reply(agent_reply, heard=" ".join(self._heard)).label
        need_shown = detect_intent(self._heard) is not None
        drawn_out = label == ASK and not need_shown
        if drawn_out:
            self._questions += 1
            self._unanswered += 1
            delta = -knobs.ask_cost
        elif label == self._scenario.intent:
            self._unanswered = 0
            delta = fitting_reply_gain(self.emotion, knobs.relief if need_shown else knobs.guessed_relief)
        elif label == GENERIC:
            delta = knobs.generic_delta
        elif label in (HARMFUL, ASK):
            delta = -knobs.harm_penalty
        elif label in (MIXED, DEGENERATE):
            delta = -knobs.hack_penalty
        else:
            delta = -knobs.penalty
        if drawn_out:
            end = self.track.apply(delta, tries_patience=self._questions < knobs.questions_needed, can_leave=False)
        else:
            end = self.track.apply(delta)
        if end or self.track.last_turn:
            self.track.charge(self._unanswered * (knobs.penalty - knobs.ask_cost))
        if end == "goodbye":
            return UserTurn(self._pick(bank.reactions["goodbye"], "bye"), self.emotion, True, label)
        if end == "leave":
            return UserTurn(self._pick(bank.reactions["leave"], "leave"), self.emotion, True, label)
        message = self._reaction(delta, label, drawn_out)
        self._heard.append(message)
        return UserTurn(message, self.emotion, self.track.last_turn, label)

    def _reaction(self, delta: float, label: str, drawn_out: bool) -> str:
        knobs, bank = self._knobs, phrase_bank()
        assert knobs is not None and self._scenario is not None
        if drawn_out:
            if self._questions < knobs.questions_needed:
                return self._pick(bank.reactions["deflect"], "deflect")
            cues = bank.strategies[self._scenario.intent]
            cue = self._pick((cues.explicit if knobs.disclose_explicit else cues.vague)[self._scenario.split], "disclosed")
            return self._pick(bank.reactions["disclose"], "disclose").format(cue=cue)
        if label == ASK:
            return self._pick(bank.reactions["asked_again"], "asked_again")
        if delta > 0:
            return self._pick(bank.reactions["better"], "better")
        if label == GENERIC and delta == 0:
            return self._pick(bank.reactions["neutral"], "neutral")
        if label == HARMFUL:
            return self._pick(bank.reactions["hurt"], "hurt")
        if knobs.hint_on_miss(self.track.turn):
            hint = self._pick(bank.strategies[self._scenario.intent].explicit[self._scenario.split], "hint")
            return self._pick(bank.reactions["worse_hint"], "worse").format(hint=hint)
        if knobs.penalty > 15:
            return self._pick(bank.reactions["sarcastic"], "sarcastic")
        return self._pick(bank.reactions["worse"], "worse")

    def _pick(self, options: tuple[str, ...], kind: str) -> str:
        assert self._scenario is not None
        return stable_pick(options, self.seed, self._scenario.id, self.track.turn, kind)
