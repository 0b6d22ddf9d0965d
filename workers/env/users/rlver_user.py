"""`simulator.profile: rlver`: RLVER's simulated user as its released code plays it
(hard_player_simulator_dsv3.py in Tencent's digitalhuman, RLVER/), with prompts of our own.

Per agent reply: a free-text analysis in five steps (what the reply says, how it fits the hidden
need, the user's inner state, how the reply feels - with RLVER's clause that a reply which is not
natural language feels very bad - and a signed change on the last line), added to the emotion as
it is (capped at 100); then the user's next message, written from that analysis and the emotion's
bucket (S >= 100, A >= 70, B >= 40, C >= 10, F below). The user starts at 30, never states the
need, and says goodbye in bucket S or F; the dialogue also ends after `max_turns` agent replies
(8 by default, as RLVER trains). The reward is max(final emotion, 0) / 100, RLVER's.

Named deviations from the released code: the change is clamped to [-10, 10] and the prompt says
so (as SAGE's code does; RLVER adds any integer, so one "+100" would end a dialogue at the top);
an analysis whose last line is not a readable change, or that hit its token limit, is asked for
again at most `analysis_retries` times (the next with twice the tokens, up to four times; RLVER
retries forever), then counts as `unreadable_change` (-10; label `unparsed`); every unreadable
analysis counts in `simulator/parse_failures`. The dialogue ends on the bucket itself rather than
on spotting "goodbye" in the generated text. RLVER defines simple / normal / hard persona prompts
and never uses them; here d picks one (nearest of 0 / 0.5 / 1) and changes nothing else. The
agent's replies reach the analyser fenced, and what it wrote is cut out of an analysis before the
verdict is read (`analysis_io`).
"""

from __future__ import annotations

import asyncio

from workers.env.scenarios.scenario import Scenario, realise
from workers.env.users.analysis_io import (
    analyser_transcript,
    as_user_chat,
    fence_tag,
    final_change,
    prompt_language,
    request_seed,
    without_agent_text,
    without_final_line,
)
from workers.env.users.chat_routes import Dialogue
from workers.env.users.emotion_track import UserTurn
from workers.env.users.llm_prompts import PromptSet, intent_text, level_text, prompt_set
from workers.env.users.llm_simulator import HELPED, HURT, NEUTRAL, UNPARSED, ChatEndpoint

START_EMOTION = 30.0
"""RLVER's training start (SAGE's evaluation starts at 40: `goldilocks eval --protocol sage`)."""
MOOD_FLOORS = (100.0, 70.0, 40.0, 10.0)
"""Lowest emotion of buckets S, A, B and C; below the last is F."""


def mood_index(emotion: float) -> int:
    """0 (S) .. 4 (F)."""
    return next((i for i, floor in enumerate(MOOD_FLOORS) if emotion >= floor), len(MOOD_FLOORS))


def says_goodbye(emotion: float) -> bool:
    """Buckets S and F: the user is done, content or fed up."""
    return mood_index(emotion) in (0, len(MOOD_FLOORS))


class RlverUser:
    def __init__(
        self,
        endpoint: ChatEndpoint,
        *,
        max_turns: int,
        seed: int = 0,
        start_emotion: float = START_EMOTION,
        analysis_retries: int = 3,
    ):
        if max_turns < 1:
            raise ValueError("simulator.max_turns must be at least 1")
        self.endpoint = endpoint
        self.max_turns = max_turns
        self.seed = seed
        self.start_emotion = start_emotion
        self.analysis_retries = analysis_retries
        self.emotion = start_emotion
        self.turn = 0
        self._scenario: Scenario | None = None
        self._prompts: PromptSet | None = None
        self._language = "en"
        self._level = ""
        self._history: list[tuple[str, str]] = []
        self._dialogue: Dialogue | None = None
        """What keeps this dialogue's requests on one server (sticky routing)."""

    def start(self, scenario: Scenario, difficulty: float) -> str:
        return asyncio.run(self.astart(scenario, difficulty))

    def step(self, agent_reply: str) -> UserTurn:
        return asyncio.run(self.astep(agent_reply))

    async def astart(self, scenario: Scenario, difficulty: float) -> str:
        self._language = prompt_language(self.endpoint.settings.language, scenario.language)
        self._prompts = prompt_set(self._language)
        self._scenario = realise(scenario, self.seed)
        self._level = level_text(self._prompts, difficulty, strictness=False)
        self.emotion, self.turn, self._history = self.start_emotion, 0, []
        self._dialogue = Dialogue.of_user(self.seed, scenario.id)
        opening = await self._say(self._prompts.rlver.opening)
        self._history.append(("user", opening))
        return opening

    async def astep(self, agent_reply: str) -> UserTurn:
        if self._scenario is None or self._prompts is None:
            raise RuntimeError("RlverUser.step called before start")
        self.turn += 1
        self._history.append(("agent", agent_reply))
        change, analysis, failures = await self._analyse()
        moved = self.endpoint.settings.unreadable_change if change is None else change
        self.emotion = max(0.0, min(100.0, self.emotion + moved))
        label = UNPARSED if change is None else HELPED if change > 0 else HURT if change < 0 else NEUTRAL
        message = await self._say(without_final_line(analysis) if change is not None else "")
        self._history.append(("user", message))
        done = says_goodbye(self.emotion) or self.turn >= self.max_turns
        return UserTurn(message, self.emotion, done, label, parse_failures=failures)

    async def _analyse(self) -> tuple[int | None, str, int]:
        """The first readable analysis of up to 1 + `analysis_retries` (in the analyser's own
        words), and how many were not; one cut at its token limit is asked for again with twice
        the tokens (at most four times the setting)."""
        assert self._scenario is not None and self._prompts is not None
        replies = [t for who, t in self._history if who == "agent"]
        tag = fence_tag((self.seed, self._scenario.id, self.turn), replies)
        system = self._fill(self._prompts.rlver.analyse, tag=tag)
        transcript = {"role": "user", "content": analyser_transcript(self._history, tag, self._language)}
        budget, analysis = self.endpoint.settings.analysis_max_tokens, ""
        for attempt in range(self.analysis_retries + 1):
            answer = await self.endpoint.chat(
                [{"role": "system", "content": system}, transcript],
                max_tokens=budget,
                seed=request_seed(self.seed, self._scenario.id, self.turn, "analyse", attempt),
                dialogue=self._dialogue,
            )
            analysis = without_agent_text(answer.text, replies)
            change = None if answer.cut else final_change(analysis)
            if change is not None:
                return change, analysis, attempt
            if answer.cut:
                budget = min(2 * budget, 4 * self.endpoint.settings.analysis_max_tokens)
        return None, analysis, self.analysis_retries + 1

    async def _say(self, thoughts: str) -> str:
        """The user's next message, from its thoughts on the last reply and its mood's bucket;
        the opening is asked for with `thoughts` the opening instruction."""
        assert self._scenario is not None and self._prompts is not None
        mood = self._prompts.rlver.moods[mood_index(self.emotion)]
        system = self._fill(self._prompts.rlver.reply, mood=mood, analysis=thoughts)
        messages = [{"role": "system", "content": system}]
        messages += as_user_chat(self._history)
        if not self._history:
            messages.append({"role": "user", "content": thoughts})
        reply = await self.endpoint.chat(
            messages,
            max_tokens=self.endpoint.settings.reply_max_tokens,
            seed=request_seed(self.seed, self._scenario.id, self.turn, "reply"),
            dialogue=self._dialogue,
        )
        return reply.text.strip() or "..."

    def _fill(self, template: str, **fields: str) -> str:
        assert self._scenario is not None
        return template.format(
            persona=self._scenario.persona,
            situation=self._scenario.situation,
            intent=intent_text(self._scenario, self._language),
            level=self._level,
            emotion=round(self.emotion),
            **{"tag": "", "mood": "", "analysis": ""} | fields,
        )
