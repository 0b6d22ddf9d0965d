"""Builds the policy locally: tokenizer, Qwen2 model, supervised warm start; cached by inputs.

No model hub is reachable from CI, so the project makes its own policy: a byte-level BPE
tokenizer trained on the counselling corpus, a ChatML template, a small Qwen2 (the architecture
vLLM and transformers both know), then a short supervised warm start so that replies are word-like
before RL begins. The result is a plain Hugging Face model directory, usable by vLLM and HF alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from filelock import FileLock, Timeout

from workers.chat_format import CHAT_TEMPLATE, END_OF_TEXT, IM_END, SPECIAL_TOKENS, opening_segment, user_segment
from workers.policy_model.corpus import CorpusDialogue, corpus_texts, counselling_corpus

BOOTSTRAP_VERSION = 5
"""Bump when this module changes what it builds, so caches keyed on the old recipe are ignored."""


WARM_START_FORWARD_TOKENS = 1024
"""Padded tokens in one warm-start forward: small enough that rows of like lengths share one."""


@dataclass(frozen=True)
class ModelSpec:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int
    corpus_size: int
    warmup_steps: int
    warmup_batch: int
    warmup_lr: float


MODEL_SIZES: dict[str, ModelSpec] = {
    # ~1M parameters: the CI and demo policy.
    "tiny": ModelSpec(1024, 192, 512, 2, 6, 2, 1024, 4000, 400, 32, 4e-3),
    # The tiny model warm-started four times as long (~7.5 min on 2 cores), so that RL's budget
    # goes to choosing the strategy rather than to spelling it: the curriculum experiment's
    # policy (README, "The policy the experiment trains"). CI and the demo keep `tiny`.
    "tiny-long": ModelSpec(1024, 192, 512, 2, 6, 2, 1024, 4000, 1600, 32, 4e-3),
    # ~47M parameters: the benchmark policy (a brief warm start: it is timed, not trained).
    "small": ModelSpec(4096, 640, 1792, 10, 10, 2, 1024, 4000, 40, 8, 1e-3),
}


LAYOUTS = ("chatml", "qwen-instruct", "no-pad", "base")
"""Token layouts of real checkpoints, on the same weights (`goldilocks bootstrap-model --layout`):

- `chatml`: pad <|endoftext|> distinct from eos <|im_end|>, one stop id (the default);
- `qwen-instruct`: generation_config stops on <|im_end|> and <|endoftext|>, as Qwen2.5-Instruct's;
- `no-pad`: the tokenizer and config name no pad token at all, as Llama's;
- `base`: eos is <|endoftext|> alone, in the tokenizer and both configs, as a base checkpoint's:
  nothing in the model's files says that <|im_end|> ends a turn.
"""


def cache_root() -> Path:
    return Path(os.environ.get("GOLDILOCKS_CACHE", Path.home() / ".cache" / "goldilocks"))


def recipe_key(size: str, seed: int) -> str:
    phrases = resources.files("workers.env").joinpath("data/phrases_en.yaml").read_bytes()
    recipe = json.dumps(
        {"spec": asdict(MODEL_SIZES[size]), "seed": seed, "version": BOOTSTRAP_VERSION},
        sort_keys=True,
    ).encode()
    return hashlib.sha256(recipe + phrases).hexdigest()[:16]


def ensure_model(
    size: str, seed: int = 0, out: Path | None = None, log: Callable[[str], None] = print, layout: str = "chatml"
) -> Path:
    """The model directory for (size, seed, layout): from the cache when present, else built once
    (another layout is derived from the `chatml` build: same weights, other token files)."""
    if size not in MODEL_SIZES:
        raise ValueError(f"unknown model size {size!r}; choose one of {sorted(MODEL_SIZES)}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown token layout {layout!r}; choose one of {list(LAYOUTS)}")
    name = f"{size}-{recipe_key(size, seed)}"
    cached = cache_root() / "models" / (name if layout == "chatml" else f"{name}-{layout}")
    if not (cached / "config.json").exists():
        if layout == "chatml":
            _build_once(cached, lambda staging: build_model(MODEL_SIZES[size], seed, staging, log), log)
        else:
            base = ensure_model(size, seed, log=log)
            _build_once(cached, lambda staging: derive_layout(base, layout, staging), log)
    else:
        log(f"using cached {size} policy at {cached}")
    if out is None:
        return cached
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"--out {out} exists and is not empty")
    shutil.copytree(cached, out, dirs_exist_ok=True)
    return out


def _build_once(target: Path, build: Callable[[Path], None], log: Callable[[str], None]) -> None:
    """Build into a staging directory, then rename, under a lock beside the target: processes
    asking for one model at once (two runs, two test workers) build it once, the others wait
    for it, and none sees half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target.parent / f".{target.name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"another process is building {target.name}; waiting for it")
        lock.acquire()
    try:
        if (target / "config.json").exists():
            return
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
        try:
            build(staging)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()


def derive_layout(base: Path, layout: str, out: Path) -> None:
    """Copy `base` (a `chatml` build) and rewrite its token files to `layout`, as JSON edits: a
    tokenizer saved again through transformers may come back as another class."""
    shutil.copytree(base, out, dirs_exist_ok=True)

    def edit(name: str, change: Callable[[dict], None]) -> None:
        data = json.loads((out / name).read_text(encoding="utf-8"))
        change(data)
        (out / name).write_text(json.dumps(data, indent=2), encoding="utf-8")

    if layout == "qwen-instruct":
        pad_id = json.loads((base / "config.json").read_text(encoding="utf-8"))["pad_token_id"]
        edit("generation_config.json", lambda g: g.update(eos_token_id=[g["eos_token_id"], pad_id]))
    elif layout == "base":
        text_end = json.loads((base / "config.json").read_text(encoding="utf-8"))["pad_token_id"]
        edit("tokenizer_config.json", lambda t: t.update(eos_token=END_OF_TEXT))
        edit("config.json", lambda c: c.update(eos_token_id=text_end))
        edit("generation_config.json", lambda g: g.update(eos_token_id=text_end))
    elif layout == "no-pad":
        edit("tokenizer_config.json", lambda t: t.update(pad_token=None))
        edit("config.json", lambda c: c.pop("pad_token_id"))
        edit("generation_config.json", lambda g: g.pop("pad_token_id"))
    edit("goldilocks.json", lambda m: m.update(layout=layout))


def train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        chat_template=CHAT_TEMPLATE,
        model_max_length=1024,
    )


def encode_dialogue(tokenizer, dialogue: CorpusDialogue) -> list[int]:
    """Token ids of a whole dialogue, segment by segment exactly as a rollout builds them."""
    ids: list[int] = []
    end_id = tokenizer.convert_tokens_to_ids(IM_END)
    for i, (user, agent) in enumerate(dialogue.turns):
        prompt = opening_segment(dialogue.system, user) if i == 0 else user_segment(user)
        ids += tokenizer.encode(prompt, add_special_tokens=False)
        ids += [*tokenizer.encode(agent, add_special_tokens=False), end_id]
    return ids


def build_model(spec: ModelSpec, seed: int, out: Path, log: Callable[[str], None]) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    dialogues = counselling_corpus(spec.corpus_size, seed)
    log(f"training a {spec.vocab_size}-token BPE tokenizer on {len(dialogues)} dialogues")
    tokenizer = train_tokenizer(corpus_texts(dialogues), spec.vocab_size)
    end_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=end_id,
        eos_token_id=end_id,
        pad_token_id=pad_id,
        torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"warm-starting a {n_params / 1e6:.2f}M-parameter Qwen2 for {spec.warmup_steps} steps")
    warm_start(model, [encode_dialogue(tokenizer, d) for d in dialogues], spec, seed, pad_id, log)
    model.generation_config = GenerationConfig(eos_token_id=end_id, pad_token_id=pad_id)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "goldilocks.json").write_text(json.dumps({"spec": asdict(spec), "seed": seed, "params": n_params}, indent=1))


def warm_start(model, samples: list[list[int]], spec: ModelSpec, seed: int, pad_id: int, log) -> None:
    """Next-token loss on every token of the dialogue, the user's included (AdamW, linear decay).

    Modelling the user's turns too makes the policy represent the intent cues it reads; measured
    here, that halves the supervised steps the tiny model needs before its first reply depends on
    the cue (which the warm start itself never teaches: replies stay unpaired with intents)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.warmup_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / spec.warmup_steps)
    model.train()
    for step in range(spec.warmup_steps):
        pick = torch.randint(len(samples), (spec.warmup_batch,), generator=gen).tolist()
        opt.zero_grad()
        loss = accumulate_gradient(model, [samples[i] for i in pick], pad_id)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == spec.warmup_steps - 1:
            log(f"  warm start step {step + 1}/{spec.warmup_steps}  loss {loss:.3f}")
    model.eval()


def accumulate_gradient(model, batch: list[list[int]], pad_id: int) -> float:
    """Adds the gradient of the batch's mean next-token loss to the model's and returns that loss.
    The batch runs as forwards of rows of like lengths (`pack_by_tokens`), each loss divided by
    the whole batch's token count: the gradient of one forward over the batch, with a fraction of
    the padding that forward would carry."""
    import numpy as np
    import torch

    from workers.rl.micro_batches import pack_by_tokens
    from workers.rl.token_logprobs import sequence_batch

    lengths = np.array([len(x) for x in batch])
    targets = int((lengths - 1).sum())
    total = 0.0
    for rows in pack_by_tokens(lengths, WARM_START_FORWARD_TOKENS):
        chosen = [batch[r] for r in rows]
        ids, mask = sequence_batch(chosen, [[1] * len(x) for x in chosen], pad_id)
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
        loss = (loss * mask[:, 1:]).sum() / targets
        loss.backward()
        total += loss.item()
    return total
