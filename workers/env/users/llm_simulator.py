"""The `llm` user simulator: an OpenAI-compatible chat endpoint plays the user, RLVER-style.

Two profiles (`simulator.profile`). `goldilocks`, here: per agent reply, two calls: an emotion
analysis that returns a signed change in [-10, 10] (JSON, read by a tolerant parser from the
analyser's last object), then the user's next message, written in character. The change is
scaled by the `rule` simulator's difficulty knobs (relief for help, penalty for harm) and the
dialogue ends by the same rules, so d means one thing across simulators; start emotion,
patience and how openly the need may be stated come from those knobs too. An analysis that
cannot be read, or was cut at its token limit, counts as a parse failure worth
`unreadable_change` (the worst change by default). `rlver` (RLVER's user as released) is
`rlver_user.py`; both read agent replies as fenced data and the verdict from the analyser's own
words (`analysis_io`).

Calls of all live dialogues run concurrently (`step_all` in simulator.py) on one async client
per event loop, bounded by a semaphore; transient errors (timeouts, connection errors, 5xx, 429)
are retried with exponential backoff, and an endpoint that stays down raises
SimulatorUnavailable naming the endpoint.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from dataclasses import dataclass

import openai
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from workers.env.scenarios.scenario import Scenario, realise
from workers.env.users.analysis_io import (
    analyser_transcript,
    as_user_chat,
    fence_tag,
    prompt_language,
    request_seed,
    without_agent_text,
)
from workers.env.users.chat_routes import Dialogue, NoServerReady, Route, Routes, ServerGone
from workers.env.users.difficulty import RuleKnobs, episode_draws, rule_knobs
from workers.env.users.emotion_track import EmotionTrack, UserTurn, fitting_reply_gain
from workers.env.users.llm_prompts import PromptSet, disclosure_text, intent_text, level_text, prompt_set
from workers.env.users.llm_user_config import LlmSettings
from workers.env.users.simulator_usage import EXTERNAL, SimulatorUsage

MAX_CHANGE = 10.0
HELPED, HURT, NEUTRAL, UNPARSED = "helped", "hurt", "neutral", "unparsed"
_TRANSIENT = (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError)
_RETRIED = (*_TRANSIENT, NoServerReady)
ANALYSIS_SCHEMA = {
    "type": "object",
    "properties": {
        "change": {"type": "integer", "minimum": -10, "maximum": 10},
        "reason": {"type": "string", "maxLength": 200},
    },
    "required": ["change", "reason"],
    "additionalProperties": False,
}
"""What `simulator.json_mode` asks the endpoint to decode into (OpenAI `json_schema`, vLLM's guided
decoding): a real model then always names its change; the tolerant parser stays as the fallback."""
_CHANGE_FIELD = re.compile(r'"?change"?\s*[:=]\s*([+-]?\d+(?:\.\d+)?)', re.IGNORECASE)


class SimulatorUnavailable(RuntimeError):
    """The simulator endpoint did not answer after every retry."""


@dataclass(frozen=True)
class Completion:
    text: str
    cut: bool
    """Stopped by its token limit: an analysis cut there may end on anything (a quoted line)."""


def parse_change(text: str) -> float | None:
    """The signed emotion change in an analysis, clamped to [-10, 10]; None when unreadable.

    The analyser's own answer is its last JSON object with a numeric `change` (also inside prose
    or a code fence), else its last bare `change: N`; an object quoted from the agent's reply
    earlier in the text is not it. Small models rarely produce clean JSON. JSON's NaN is
    unreadable, not a change (clamping would have made it +10)."""
    found: float | None = None
    for match in re.finditer(r"\{[^{}]*\}", text):
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        value = obj.get("change") if isinstance(obj, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
            found = float(value)
    if found is None:
        fields = _CHANGE_FIELD.findall(text)
        found = float(fields[-1]) if fields else None
    return None if found is None else max(-MAX_CHANGE, min(MAX_CHANGE, found))


def emotion_delta(change: float, emotion: float, knobs: RuleKnobs) -> float:
    """A change of +10 is worth what a fitting reply wins under `rule`, -10 a full `penalty`."""
    scale = fitting_reply_gain(emotion, knobs.relief) if change > 0 else knobs.penalty
    return change / MAX_CHANGE * scale


class ChatEndpoint:
    """The OpenAI-compatible chat servers shared by a worker's simulators: an endpoint of the
    user's, or the run's own simulator servers (chat_routes.py spreads requests over them). A
    client per server and a semaphore per event loop (the rollout worker runs one loop per turn).
    It counts what it was asked, per server (`take_usage`)."""

    def __init__(self, settings: LlmSettings):
        self.settings = settings
        self.usage = SimulatorUsage()
        served = [Route(s.name, s.url, s.resolver()) for s in settings.servers]
        self.routes = Routes(
            served or [Route(EXTERNAL, settings.endpoint)],
            resolve_timeout_s=settings.timeout_s,
            routing=settings.serve.routing,
            load_factor=settings.serve.sticky_load_factor,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, openai.AsyncOpenAI] = {}
        self._slots: asyncio.Semaphore | None = None

    @property
    def where(self) -> str:
        """What an error names: the endpoint, or the served servers."""
        if self.settings.servers:
            return "the run's simulator servers (" + ", ".join(r.name for r in self.routes.routes) + ")"
        return f"simulator endpoint {self.settings.endpoint}"

    def _slots_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            self._clients = {}
            self._slots = asyncio.Semaphore(self.settings.concurrency)
            self._loop = loop
        return self._slots

    def _client(self, url: str) -> openai.AsyncOpenAI:
        if url not in self._clients:
            s = self.settings
            self._clients[url] = openai.AsyncOpenAI(
                base_url=url, api_key=os.environ.get(s.api_key_env) or "EMPTY", timeout=s.timeout_s, max_retries=0
            )
        return self._clients[url]

    def take_usage(self) -> SimulatorUsage:
        """The requests since the last call, and a fresh count."""
        usage, self.usage = self.usage, SimulatorUsage()
        return usage

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        seed: int,
        json_mode: bool = False,
        dialogue: Dialogue | None = None,
    ) -> Completion:
        """One completion; `seed` makes the endpoint's sampling repeatable where it honours it
        (vLLM does); `dialogue` keeps a dialogue's requests on one server (chat_routes.py).
        Transient errors are retried with exponential backoff, on another server where the run
        serves several (the dialogue's next by the routing), until both `max_retries` retries and
        `retry_budget_s` seconds are spent: the budget is a floor, so a hung endpoint can hold a
        call for up to (max_retries + 1) x timeout_s when that is longer."""
        slots = self._slots_here()
        s = self.settings
        schema = {"name": "emotion_change", "strict": True, "schema": ANALYSIS_SCHEMA}
        extra = {"response_format": {"type": "json_schema", "json_schema": schema}} if json_mode else {}
        retrying = AsyncRetrying(
            stop=stop_after_attempt(s.max_retries + 1) & stop_after_delay(s.retry_budget_s),
            wait=wait_exponential(multiplier=s.backoff_s, max=30 * s.backoff_s),
            retry=retry_if_exception_type(_RETRIED),
            reraise=True,
        )
        try:
            async with slots:
                tick = time.perf_counter()
                async for attempt in retrying:
                    with attempt:
                        route = await self.routes.acquire(dialogue)
                        assert route.url is not None
                        route.outstanding += 1
                        try:
                            response = await self._client(route.url).chat.completions.create(
                                model=s.model,
                                messages=messages,  # type: ignore[arg-type]
                                max_tokens=max_tokens,
                                temperature=s.temperature,
                                seed=seed,
                                **extra,
                            )
                        except _TRANSIENT:
                            self.routes.failed(route)
                            raise
                        finally:
                            route.outstanding -= 1
                counts = response.usage
                self.usage.record(
                    route.name,
                    time.perf_counter() - tick,
                    counts.prompt_tokens if counts else None,
                    counts.completion_tokens if counts else None,
                    switched=self.routes.answered(dialogue, route),
                )
        except _RETRIED as exc:
            raise SimulatorUnavailable(
                f"{self.where} (model {s.model!r}) failed after {attempt.retry_state.attempt_number} tries "
                f"in {time.perf_counter() - tick:.0f} s: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        except ServerGone as exc:
            raise SimulatorUnavailable(f"{exc} (simulator.serve.max_restarts)") from None
        except openai.APIStatusError as exc:
            raise SimulatorUnavailable(
                f"{self.where} (model {s.model!r}) refused the request: HTTP {exc.status_code}: {exc.message}"
            ) from None
        choice = response.choices[0]
        return Completion(choice.message.content or "", choice.finish_reason == "length")


class LlmSimulator:
    def __init__(self, endpoint: ChatEndpoint, *, max_turns: int, pass_threshold: float, seed: int = 0):
        self.endpoint = endpoint
        self.track = EmotionTrack(max_turns=max_turns, pass_threshold=pass_threshold)
        self.seed = seed
        self._scenario: Scenario | None = None
        self._knobs: RuleKnobs | None = None
        self._difficulty = 0.0
        self._prompts: PromptSet | None = None
        self._language = "en"
        self._history: list[tuple[str, str]] = []
        self._dialogue: Dialogue | None = None
        """What keeps this dialogue's requests on one server (sticky routing)."""

    @property
    def emotion(self) -> float:
        return self.track.emotion

    def start(self, scenario: Scenario, difficulty: float) -> str:
        return asyncio.run(self.astart(scenario, difficulty))

    def step(self, agent_reply: str) -> UserTurn:
        return asyncio.run(self.astep(agent_reply))

    async def astart(self, scenario: Scenario, difficulty: float) -> str:
        self._language = prompt_language(self.endpoint.settings.language, scenario.language)
        self._prompts = prompt_set(self._language)
        self._scenario = realise(scenario, self.seed)
        self._difficulty = difficulty
        self._knobs = rule_knobs(difficulty, scenario.personality, episode_draws(self.seed, scenario.id))
        self.track.reset(self._knobs.start_emotion, self._knobs.patience, walkout_cost=self._knobs.penalty)
        self._history = []
        self._dialogue = Dialogue.of_user(self.seed, scenario.id)
        opening = await self._user_message(self._prompts.opening)
        self._history.append(("user", opening))
        return opening

    async def astep(self, agent_reply: str) -> UserTurn:
        if self._scenario is None or self._knobs is None or self._prompts is None:
            raise RuntimeError("LlmSimulator.step called before start")
        self.track.next_turn()
        self._history.append(("agent", agent_reply))
        analysis = await self.endpoint.chat(
            [{"role": "system", "content": self._system(self._prompts.analyse)}, self._as_observer()],
            max_tokens=96,
            seed=self._request_seed("analyse"),
            json_mode=self.endpoint.settings.json_mode,
            dialogue=self._dialogue,
        )
        replies = [text for who, text in self._history if who == "agent"]
        change = None if analysis.cut else parse_change(without_agent_text(analysis.text, replies))
        delta = emotion_delta(self.endpoint.settings.unreadable_change if change is None else change, self.emotion, self._knobs)
        end = self.track.apply(delta)
        label = UNPARSED if change is None else HELPED if delta > 0 else HURT if delta < 0 else NEUTRAL
        failures = int(change is None)
        if end is not None:
            return self._end(self._prompts.goodbye if end == "goodbye" else self._prompts.leave, label, failures)
        message = await self._user_message(None)
        self._history.append(("user", message))
        return UserTurn(message, self.emotion, self.track.last_turn, label, parse_failures=failures)

    def _request_seed(self, kind: str) -> int:
        assert self._scenario is not None
        return request_seed(self.seed, self._scenario.id, self.track.turn, kind)

    def _end(self, message: str, label: str, parse_failures: int) -> UserTurn:
        self._history.append(("user", message))
        return UserTurn(message, self.emotion, True, label, parse_failures=parse_failures)

    def _system(self, template: str) -> str:
        assert self._scenario is not None and self._knobs is not None and self._prompts is not None
        return template.format(
            persona=self._scenario.persona,
            situation=self._scenario.situation,
            intent=intent_text(self._scenario, self._language),
            emotion=round(self.emotion),
            level=level_text(self._prompts, self._difficulty),
            disclosure=disclosure_text(self._prompts, self._knobs),
            tag=self._tag(),
        )

    def _as_observer(self) -> dict[str, str]:
        """The transcript for the analyser: one user message quoting the whole dialogue, every
        agent reply fenced (its tag also named in the system prompt)."""
        return {"role": "user", "content": analyser_transcript(self._history, self._tag(), self._language)}

    def _tag(self) -> str:
        assert self._scenario is not None
        replies = [text for who, text in self._history if who == "agent"]
        return fence_tag((self.seed, self._scenario.id, self.track.turn), replies)

    async def _user_message(self, instruction: str | None) -> str:
        """The simulator plays the user, so in its own chat the agent speaks as `user`."""
        assert self._prompts is not None
        messages = [{"role": "system", "content": self._system(self._prompts.reply)}]
        messages += as_user_chat(self._history)
        if instruction:
            messages.append({"role": "user", "content": instruction})
        max_tokens = self.endpoint.settings.reply_max_tokens
        reply = await self.endpoint.chat(
            messages, max_tokens=max_tokens, seed=self._request_seed("reply"), dialogue=self._dialogue
        )
        return reply.text.strip() or "..."
