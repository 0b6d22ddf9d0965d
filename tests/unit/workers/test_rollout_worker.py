"""The rollout worker's bookkeeping, against a scripted backend (the generations are ours, the
tokenizer is the tiny policy's): what ends a reply, and what stays in a `think` dialogue's history."""

import pytest

from workers.backends import Generation, SamplingConfig
from workers.chat_format import END_OF_TEXT, IM_END, IM_START
from workers.env.scenarios.scenario_bank import load_scenarios
from workers.rollout_worker import FORMAT_VIOLATION, RolloutSettings, RolloutWorker
from workers.types import EpisodeRequest

pytestmark = pytest.mark.slow  # builds the tiny policy (once per session) for its tokenizer


class ScriptedBackend:
    """Answers the k-th generate call with replies[k] for every prompt; records the prompts."""

    def __init__(self, tokenizer, replies: list[tuple[str, str]]):
        self.tokenizer, self.replies, self.prompts, self.version = tokenizer, replies, [], 0

    def generate(self, prompts, sampling):
        self.prompts.append([list(p) for p in prompts])
        text, end = self.replies[len(self.prompts) - 1]
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if end != "cut":
            ids.append(self.tokenizer.convert_tokens_to_ids(end))
        return [Generation(list(ids), [-0.5] * len(ids), end != "cut") for _ in prompts]

    def update_weights(self, state, version):
        self.version = version


def worker_for(tiny_model, replies, template="plain", violation="end_with_zero", turns=3):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    settings = RolloutSettings(
        "hf", 1024, "float32", SamplingConfig(40), "rule", turns, 70.0, template=template, think_violation=violation
    )
    return RolloutWorker(tiny_model, settings, backend=ScriptedBackend(tok, replies))


def one_request(difficulty=0.0):
    """A patient user (d = 0): she stays while replies miss her need; the tests check the turns."""
    scenario = load_scenarios("en", "train")[0]
    return [EpisodeRequest(scenario, difficulty, 0, seed=3)]


def test_a_reply_ended_by_another_stop_id_is_closed_with_the_end_of_turn_not_trained_on_it(tiny_model):
    """A base checkpoint (and Qwen2.5-Instruct, second) stops on <|endoftext|>: that token is cut,
    and the turn is closed with <|im_end|> as a context token, so later turns read on-template."""
    worker = worker_for(tiny_model, [("I hear you.", END_OF_TEXT), ("Go on.", IM_END), ("I am here", "cut")])
    (episode,) = worker.rollout(one_request(), 0).episodes
    (seq,) = episode.sequences
    tok = worker.tokenizer
    ids, end = seq.token_ids, tok.convert_tokens_to_ids(IM_END)
    assert tok.convert_tokens_to_ids(END_OF_TEXT) not in ids
    first_reply = tok.encode("I hear you.", add_special_tokens=False)
    at = ids.index(first_reply[0])
    assert ids[at : at + len(first_reply) + 1] == [*first_reply, end]
    assert seq.policy_mask[at : at + len(first_reply) + 1] == [1] * len(first_reply) + [0]
    assert episode.transcript[1] == ("agent", "I hear you.")
    assert worker.backend.prompts[1][0][at + len(first_reply)] == end  # the next turn's prompt is on-template
    assert episode.turns == 3  # the cut reply is closed with the chat template's end of turn, not sampled
    assert ids[-1] == tok.convert_tokens_to_ids(IM_END) and seq.policy_mask[-1] == 0
    assert len(ids) == len(seq.policy_mask) == len(seq.logprobs)


def test_a_reply_that_opens_a_turn_is_cut_before_it_and_closed_with_the_end_of_turn(tiny_model):
    """The model skipped its <|im_end|> and wrote <|im_start|>: that token is neither trained on
    nor shown to the user, and the turn is closed as the chat template closes it."""
    worker = worker_for(tiny_model, [("I hear you.", IM_START), ("Go on.", IM_END), ("Tell me.", IM_END)])
    (episode,) = worker.rollout(one_request(), 0).episodes
    (seq,) = episode.sequences
    tok = worker.tokenizer
    start, end = tok.convert_tokens_to_ids(IM_START), tok.convert_tokens_to_ids(IM_END)
    first_reply = tok.encode("I hear you.", add_special_tokens=False)
    at = seq.token_ids.index(first_reply[0])
    assert seq.token_ids[at : at + len(first_reply) + 1] == [*first_reply, end]
    assert seq.policy_mask[at : at + len(first_reply) + 1] == [1] * len(first_reply) + [0]
    assert not any(t == start and m for t, m in zip(seq.token_ids, seq.policy_mask, strict=True))
    assert episode.transcript[1] == ("agent", "I hear you.")


def test_think_history_keeps_only_the_replies_and_each_reply_is_its_own_sequence(tiny_model):
    replies = [("<think>She wants advice.</think> Try a plan.", IM_END)] * 3
    worker = worker_for(tiny_model, replies, template="think")
    (episode,) = worker.rollout(one_request(), 0).episodes
    assert episode.turns >= 2, "the scripted user left before a second reply; pick another seed"
    tok = worker.tokenizer
    assert len(episode.sequences) == episode.turns
    later_prompts = worker.backend.prompts[1:]
    for prompt in later_prompts:
        text = tok.decode(prompt[0])
        assert "She wants advice" not in text and "Try a plan." in text
    for seq, prompt in zip(episode.sequences[1:], later_prompts, strict=False):
        context = [t for t, m in zip(seq.token_ids, seq.policy_mask, strict=True) if not m]
        assert seq.token_ids[: len(prompt[0])] == prompt[0] and context == prompt[0]
        assert tok.decode([t for t, m in zip(seq.token_ids, seq.policy_mask, strict=True) if m]).startswith("<think>")


@pytest.mark.parametrize("violation", ["end_with_zero", "pass_through"])
def test_a_think_violation_follows_the_configured_rule(tiny_model, violation):
    worker = worker_for(tiny_model, [("Try a plan.", IM_END)] * 3, template="think", violation=violation)
    (episode,) = worker.rollout(one_request(), 0).episodes
    assert episode.format_violation
    if violation == "end_with_zero":
        assert episode.labels == [FORMAT_VIOLATION] and episode.reward == 0.0
    else:
        assert FORMAT_VIOLATION not in episode.labels and episode.turns >= 1
        assert episode.transcript[1] == ("agent", "Try a plan.")
