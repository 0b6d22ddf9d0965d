"""Rollout worker: plays many dialogues at once between the policy and simulated users.

Plain Python (the driver wraps it in `ray.remote`). Every turn makes a single generate call for
all live dialogues, then lets each user simulator answer. Token ids are appended segment by
segment, so the sequence the learner scores is exactly the one that was sampled. Under `think`
a reply's thoughts leave the dialogue's history once the reply is spoken (as in RLVER's rollout):
each reply is then scored as its own sequence, in the context it was sampled from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from workers.backends import Generation, GenerationBackend, SamplingConfig, make_backend
from workers.backends.dtype_choice import DtypeChoice, choose_rollout_dtype, cpu_flags
from workers.backends.model_files import end_of_turn_id
from workers.chat_format import opening_segment, user_segment
from workers.cpu_threads import use_threads
from workers.env.users.llm_simulator import ChatEndpoint
from workers.env.users.llm_user_config import LlmSettings
from workers.env.users.simulator import UserSimulator, make_simulator, start_all, step_all
from workers.env.users.simulator_usage import SimulatorUsage
from workers.storage import fetch
from workers.thinking import END_WITH_ZERO, policy_system_prompt, visible_reply
from workers.types import Episode, EpisodeRequest, RolloutResult, TokenSequence, WeightSnapshot

FORMAT_VIOLATION = "format_violation"


@dataclass(frozen=True)
class RolloutSettings:
    backend: str
    max_model_len: int
    dtype: str
    sampling: SamplingConfig
    simulator: str
    max_turns: int
    pass_threshold: float
    template: str = "plain"
    think_violation: str = END_WITH_ZERO
    llm: LlmSettings | None = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    lora_rank: int | None = None
    """The policy is a base and a LoRA adapter of this rank (`policy.lora`)."""
    kv_cache_sequences: int | None = None
    """Sequences the engine's KV cache holds at once on CPU (`ExperimentConfig.kv_cache_sequences`)."""


def within_turn(generation: Generation, turn_end: int) -> Generation:
    """A reply that stopped on anything but <|im_end|> is cut before that stop, which is neither
    trained on nor shown to the user, and closed with <|im_end|> like a reply cut at the token
    limit: <|im_start|> (its model skipped <|im_end|> and began a turn that is not the agent's) and
    a checkpoint's own eos (a base checkpoint's, or Qwen2.5-Instruct's second, <|endoftext|>),
    after which a later turn would otherwise read a dialogue the chat template never writes."""
    if not generation.finished or generation.token_ids[-1] == turn_end:
        return generation
    return Generation(generation.token_ids[:-1], generation.logprobs[:-1], finished=False)


class _Dialogue:
    """One episode under construction: the sequence being sampled, and those already closed."""

    def __init__(self, order: int, request: EpisodeRequest, sim: UserSimulator, opening: str, ids: list[int]):
        self.order = order
        self.request = request
        self.sim = sim
        self.sequences: list[TokenSequence] = []
        self.ids: list[int] = []
        self.mask: list[int] = []
        self.logprobs: list[float] = []
        self.extend(ids)
        self.emotions = [sim.emotion]
        self.labels: list[str] = []
        self.transcript = [("user", opening)]
        self.truncated = False
        self.format_violation = False
        self.parse_failures = 0

    def extend(self, ids: list[int], logprobs: list[float] | None = None) -> None:
        """Context tokens, or (with their logprobs) tokens the policy sampled."""
        self.ids += ids
        self.mask += [0 if logprobs is None else 1] * len(ids)
        self.logprobs += logprobs if logprobs is not None else [0.0] * len(ids)

    def close(self) -> None:
        """End the current sequence; one without policy tokens is context only and is dropped."""
        if any(self.mask):
            self.sequences.append(TokenSequence(self.ids, self.mask, self.logprobs))
        self.ids, self.mask, self.logprobs = [], [], []


class RolloutWorker:
    def __init__(
        self,
        model_dir: str,
        settings: RolloutSettings,
        seed: int = 0,
        threads: int | None = None,
        backend: GenerationBackend | None = None,
    ):
        """`model_dir`: a storage location (workers/storage.py fetches it to this node); `backend`:
        an already built one (tests script generations); default: settings.backend."""
        if threads:
            use_threads(threads)
        from transformers import AutoTokenizer

        model_dir = fetch(model_dir)

        self.settings = settings
        self.dtype_choice = choose_rollout_dtype(settings.dtype, cpu_flags(), torch.cuda.is_available())
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.turn_end_id = end_of_turn_id(self.tokenizer)
        """<|im_end|>: the one stop a reply keeps; every other stop, and the token limit, closes a
        reply with it, as the chat template ends a turn (`within_turn`)."""
        self.backend = backend or make_backend(
            settings.backend,
            model_dir,
            max_model_len=settings.max_model_len,
            dtype=self.dtype_choice.dtype,
            seed=seed,
            tensor_parallel_size=settings.tensor_parallel_size,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            lora_rank=settings.lora_rank,
            kv_cache_sequences=settings.kv_cache_sequences,
        )
        self.endpoint = ChatEndpoint(settings.llm) if settings.llm else None

    @property
    def version(self) -> int:
        return self.backend.version

    def rollout_dtype(self) -> DtypeChoice:
        """What this worker's engine runs in, and why (`policy.dtype: auto` decides here, on the
        machine the engine runs on)."""
        return self.dtype_choice

    def update_weights(self, snapshot: WeightSnapshot) -> int:
        """Load the learner's weights (cast to this engine's dtype if the learner sent another);
        returns the version now held, for the pool to check."""
        dtype = getattr(torch, self.dtype_choice.dtype)
        tensors = {k: v if v.dtype == dtype else v.to(dtype) for k, v in snapshot.tensors.items()}
        if snapshot.adapter_config is not None:
            self.backend.update_adapter(tensors, snapshot.adapter_config, snapshot.version)
        else:
            self.backend.update_weights(tensors, snapshot.version)
        return self.backend.version

    def rollout(self, requests: list[EpisodeRequest], expected_version: int) -> RolloutResult:
        if self.backend.version != expected_version:
            raise RuntimeError(f"rollout worker holds weights v{self.backend.version}, driver expects v{expected_version}")
        s = self.settings
        simulate_s = 0.0
        generate_s = 0.0
        tick = time.perf_counter()
        sims = [self._simulator(r.seed) for r in requests]
        openings = start_all(sims, [r.scenario for r in requests], [r.difficulty for r in requests])
        live = [
            _Dialogue(order, req, sim, opening, self._encode(opening_segment(self._system_prompt(req), opening)))
            for order, (req, sim, opening) in enumerate(zip(requests, sims, openings, strict=True))
        ]
        simulate_s += time.perf_counter() - tick
        done: list[_Dialogue] = []
        while live:
            fits = [d for d in live if len(d.ids) + s.sampling.max_new_tokens <= s.max_model_len]
            for d in live:
                if d not in fits:
                    d.truncated = True
                    done.append(d)
            live = fits
            if not live:
                break
            tick = time.perf_counter()
            generations = self.backend.generate([d.ids for d in live], s.sampling)
            generate_s += time.perf_counter() - tick
            tick = time.perf_counter()
            still_live = []
            speaking, replies = [], []
            for d, sampled in zip(live, generations, strict=True):
                gen = within_turn(sampled, self.turn_end_id)
                turn_start = len(d.ids)
                d.extend(gen.token_ids, gen.logprobs)
                if not gen.finished:
                    d.extend([self.turn_end_id])
                text = self.tokenizer.decode(gen.token_ids, skip_special_tokens=True)
                reply = visible_reply(text, s.template)
                d.transcript.append(("agent", text.strip()))
                if reply is None:
                    d.format_violation = True
                    if s.think_violation == END_WITH_ZERO:
                        d.emotions.append(0.0)
                        d.labels.append(FORMAT_VIOLATION)
                        done.append(d)
                        continue
                    reply = text.strip()
                if s.template == "think":
                    history = d.ids[:turn_start] + self._encode(reply) + [self.turn_end_id]
                    d.close()
                    d.extend(history)
                speaking.append(d)
                replies.append(reply)
            for d, turn in zip(speaking, step_all([d.sim for d in speaking], replies), strict=True):
                d.emotions.append(turn.emotion)
                d.labels.append(turn.label)
                d.parse_failures += turn.parse_failures
                d.transcript.append(("user", turn.message))
                if turn.done:
                    done.append(d)
                    continue
                d.extend(self._encode(user_segment(turn.message)))
                still_live.append(d)
            live = still_live
            simulate_s += time.perf_counter() - tick
        for d in done:
            d.close()
        episodes = [self._episode(d) for d in sorted(done, key=lambda d: d.order)]
        usage = self.endpoint.take_usage() if self.endpoint else SimulatorUsage()
        return RolloutResult(episodes, generate_s, simulate_s, usage)

    def _simulator(self, seed: int) -> UserSimulator:
        s = self.settings
        return make_simulator(
            s.simulator, max_turns=s.max_turns, pass_threshold=s.pass_threshold, seed=seed, endpoint=self.endpoint
        )

    def _system_prompt(self, request: EpisodeRequest) -> str:
        return policy_system_prompt(request.scenario.language, self.settings.template)

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _episode(self, d: _Dialogue) -> Episode:
        return Episode(
            scenario_id=d.request.scenario.id,
            intent=d.request.scenario.intent,
            group=d.request.group,
            difficulty=d.request.difficulty,
            sequences=d.sequences,
            emotions=d.emotions,
            labels=d.labels,
            transcript=d.transcript,
            truncated=d.truncated,
            passed=d.emotions[-1] >= self.settings.pass_threshold,
            format_violation=d.format_violation,
            parse_failures=d.parse_failures,
        )
