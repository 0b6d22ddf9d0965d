"""The plain dataclasses of a step's data that cross actor boundaries (never framework objects);
an actor's settings cross as the pydantic model of its config section."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from workers.env.scenarios.scenario import Scenario
from workers.env.users.simulator_usage import SimulatorUsage

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class EpisodeRequest:
    scenario: Scenario
    difficulty: float
    group: int
    """Episodes with the same group index form one GRPO group (same scenario, same d)."""
    seed: int


@dataclass
class TokenSequence:
    """One sequence the learner scores, token for token as it was sampled."""

    token_ids: list[int]
    policy_mask: list[int]
    """1 on tokens the policy sampled (its replies and their stop token), else 0."""
    logprobs: list[float]
    """Sampling-time log p of each policy token under the sampling distribution (temperature
    applied); 0.0 elsewhere. Same length as token_ids."""


@dataclass
class Episode:
    scenario_id: str
    intent: str
    group: int
    difficulty: float
    sequences: list[TokenSequence]
    """What the learner scores: under `plain` one sequence, the whole dialogue; under `think` one
    per reply, each in the context it was sampled from (earlier replies without their thoughts)."""
    emotions: list[float]
    """Emotion before the first reply, then after each reply."""
    labels: list[str]
    """How the scorer read each reply."""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False
    """Ended by the context limit rather than by the user."""
    passed: bool = False
    format_violation: bool = False
    """A `think` reply broke the template: under `end_with_zero` the dialogue ended there with
    emotion (reward) 0; under `pass_through` the whole text reached the user."""
    parse_failures: int = 0
    """`llm` simulator analyses that could not be read (each moved emotion by 0)."""

    @property
    def final_emotion(self) -> float:
        return self.emotions[-1]

    @property
    def reward(self) -> float:
        """RLVER's verifiable emotion reward: final emotion / 100."""
        return self.final_emotion / 100.0

    @property
    def turns(self) -> int:
        return len(self.labels)

    @property
    def response_tokens(self) -> int:
        return sum(sum(s.policy_mask) for s in self.sequences)


@dataclass
class RolloutResult:
    episodes: list[Episode]
    generate_s: float
    simulate_s: float
    simulator_usage: SimulatorUsage = field(default_factory=SimulatorUsage)


@dataclass
class TrainBatch:
    """A step's sequences as right-padded numpy arrays: Ray hands numpy to the learner without
    pickling element by element, which nested Python lists of floats would cost."""

    token_ids: np.ndarray
    """int64 [R, T]; positions past a row's length hold 0 (never attended to)."""
    lengths: np.ndarray
    """int64 [R]: the true length of each row (attention comes from these, never from a pad id)."""
    policy_mask: np.ndarray
    """bool [R, T]."""
    rollout_logprobs: np.ndarray
    """float32 [R, T]: the sampling-time log-probs the rollout backend reported."""
    advantages: np.ndarray
    """float32 [R]: each row's advantage, broadcast to its policy tokens."""
    episode: np.ndarray
    """int64 [R]: the episode each row belongs to (a `think` episode has one row per reply)."""

    @classmethod
    def from_sequences(
        cls, sequences: list[TokenSequence], advantages: list[float], episode: list[int] | None = None
    ) -> TrainBatch:
        if not sequences:
            raise ValueError("a batch needs at least one sequence")
        if len(sequences) != len(advantages):
            raise ValueError(f"{len(sequences)} sequences but {len(advantages)} advantages")
        width = max(len(s.token_ids) for s in sequences)
        rows = len(sequences)
        ids = np.zeros((rows, width), dtype=np.int64)
        mask = np.zeros((rows, width), dtype=bool)
        logprobs = np.zeros((rows, width), dtype=np.float32)
        for r, s in enumerate(sequences):
            n = len(s.token_ids)
            if not len(s.policy_mask) == len(s.logprobs) == n:
                raise ValueError(f"sequence {r}: token_ids, policy_mask and logprobs differ in length")
            ids[r, :n], mask[r, :n], logprobs[r, :n] = s.token_ids, s.policy_mask, s.logprobs
        return cls(
            token_ids=ids,
            lengths=np.array([len(s.token_ids) for s in sequences], dtype=np.int64),
            policy_mask=mask,
            rollout_logprobs=logprobs,
            advantages=np.asarray(advantages, dtype=np.float32),
            episode=np.asarray(episode if episode is not None else range(rows), dtype=np.int64),
        )

    @classmethod
    def from_episodes(cls, episodes: list[Episode], advantages: list[float]) -> TrainBatch:
        """Every sequence of every episode, each carrying its episode's advantage."""
        rows = [(i, s) for i, e in enumerate(episodes) for s in e.sequences]
        return cls.from_sequences([s for _, s in rows], [advantages[i] for i, _ in rows], [i for i, _ in rows])

    def __len__(self) -> int:
        return len(self.lengths)


@dataclass
class WeightSnapshot:
    """The learner's weights as the rollout workers load them, tagged with the learner's version,
    so a worker reports the version it really holds rather than one the driver assumed."""

    version: int
    tensors: dict[str, torch.Tensor]
    """On CPU, in the rollout dtype."""
    adapter_config: dict | None = None
    """Set when `tensors` are a LoRA adapter (PEFT's config), for the workers to serve on their base."""

    def __getstate__(self) -> dict:
        """The tensors cross processes as numpy arrays over their bytes (bf16 has no numpy dtype:
        its bits travel as int16): Ray writes numpy buffers into its object store as they are
        and a reader maps them there, where a pickled tensor is copied into bytes and out again.
        A reader's tensors are read-only views of the store: copy before writing to them."""
        arrays = {name: (str(t.dtype).removeprefix("torch."), _raw(t).numpy()) for name, t in self.tensors.items()}
        return {"version": self.version, "arrays": arrays, "adapter_config": self.adapter_config}

    def __setstate__(self, state: dict) -> None:
        self.version, self.adapter_config = state["version"], state["adapter_config"]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self.tensors = {name: _from_raw(array, dtype) for name, (dtype, array) in state["arrays"].items()}


_RAW_VIEWS = {"bfloat16": "int16", "float16": "int16"}
"""Dtypes numpy lacks, and the same-width integer their bits travel as."""


def _raw(tensor: torch.Tensor) -> torch.Tensor:
    import torch

    tensor = tensor.detach().cpu().contiguous()
    raw = _RAW_VIEWS.get(str(tensor.dtype).removeprefix("torch."))
    return tensor.view(getattr(torch, raw)) if raw else tensor


def _from_raw(array: np.ndarray, dtype: str) -> torch.Tensor:
    import torch

    tensor = torch.from_numpy(array)
    return tensor.view(getattr(torch, dtype)) if dtype in _RAW_VIEWS else tensor
