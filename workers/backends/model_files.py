"""What a model directory says about itself: the tensor names of its checkpoint and the token ids
that end a reply. Read from the files, so the rollout side never guesses them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from workers.chat_format import IM_END, IM_START

TIED_OUTPUT = "lm_head.weight"
"""Sent by the learner even when the checkpoint ties it to the embeddings and leaves it out."""


class WeightSyncError(RuntimeError):
    """The learner's tensors do not name the rollout model's: a sync would load nothing, or half."""


def local_model_dir(model: str) -> Path:
    """A model directory, or the local snapshot of a hub id (vLLM has fetched it by then)."""
    path = Path(model)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model, local_files_only=True))


def checkpoint_tensor_names(model: str) -> frozenset[str]:
    from safetensors import safe_open

    files = sorted(local_model_dir(model).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model}: no *.safetensors checkpoint to read tensor names from")
    names: set[str] = set()
    for f in files:
        with safe_open(str(f), framework="pt") as reader:
            names.update(reader.keys())
    return frozenset(names)


def check_weight_names(sent: Iterable[str], expected: frozenset[str]) -> None:
    """Raise before anything is loaded when the names differ. vLLM's reload only logs a warning
    for names it did not get, and transformers' non-strict load skips unknown ones: either way a
    sync that loads nothing would still bump the worker's version."""
    sent = set(sent)
    missing = sorted(expected - sent)
    unknown = sorted(sent - expected - {TIED_OUTPUT})
    if missing or unknown:
        raise WeightSyncError(
            f"weight sync refused: {len(missing)} of the rollout model's {len(expected)} tensors not sent "
            f"{missing[:3]}, {len(unknown)} sent tensors it does not have {unknown[:3]}; the learner's and the "
            "rollout workers' models differ"
        )


def chat_token_id(tokenizer, token: str) -> int:
    """The id of one of ChatML's markers, which every dialogue goldilocks renders is written in,
    whatever the checkpoint names as its eos (a base checkpoint names <|endoftext|> alone)."""
    found = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(found, int) or found == tokenizer.unk_token_id:
        raise ValueError(f"the tokenizer has no {token} token: goldilocks renders dialogues in ChatML and needs it")
    return found


def end_of_turn_id(tokenizer) -> int:
    """<|im_end|>: a reply stops there, and a reply cut short is closed with it."""
    return chat_token_id(tokenizer, IM_END)


def turn_start_id(tokenizer) -> int:
    """<|im_start|>: a reply that writes it has begun a turn that is not the agent's (a model that
    skipped its <|im_end|>): it stops there and is cut before it."""
    return chat_token_id(tokenizer, IM_START)


def stop_token_ids(model: str, tokenizer) -> tuple[int, ...]:
    """Every id that ends a reply: the chat format's end of turn and start of a turn, the
    tokenizer's eos and the `eos_token_id` (an int or a list) of generation_config.json, which
    vLLM stops on too (Qwen2.5-Instruct lists <|im_end|> and <|endoftext|>)."""
    eos = tokenizer.eos_token_id
    ids = [end_of_turn_id(tokenizer), turn_start_id(tokenizer)] + ([] if eos is None else [eos])
    config = local_model_dir(model) / "generation_config.json"
    if config.exists():
        listed = json.loads(config.read_text(encoding="utf-8")).get("eos_token_id")
        ids += [listed] if isinstance(listed, int) else list(listed or [])
    return tuple(dict.fromkeys(ids))
