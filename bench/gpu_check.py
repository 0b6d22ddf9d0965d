"""The CUDA learner, checked where a GPU is at hand: bf16 autocast, LoRA, and FSDP2 over the GPUs
found (NCCL), on a model of `small`'s shape built here with random weights.

    python3 bench/gpu_check.py [--updates 3]
    python3 bench/gpu_check.py --device cpu --shape tiny   (the check's own test, on gloo)

Runs with a plain interpreter that has torch, transformers, peft, tokenizers and pydantic (the
learner's settings): it imports only the learner's side of the project (workers.learner and what
it needs; no Ray, vLLM or MLflow). Without CUDA it says so in its verdict and exits 0. Each check
trains a few updates on one synthetic batch and asserts what must hold on any device: finite metrics, weights that moved
(only the adapter's under LoRA), and for FSDP2 the same metrics and weights as the single-GPU
learner on the same batch. Last line: one JSON verdict, `"ok"` true when every check passed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import synthetic_batch

SHAPES = {
    "small": dict(hidden_size=640, intermediate_size=1792, num_hidden_layers=10, num_attention_heads=10, num_key_value_heads=2),
    "tiny": dict(hidden_size=192, intermediate_size=512, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2),
}
VOCAB = 1024
DEVICE = "cuda"
"""`--device cpu` runs the same checks on CPU (FSDP2 over 2 gloo ranks): how the check is tested."""


def build_model(directory: Path, shape: str) -> str:
    """A Qwen2 of `small`'s shape with random weights, and a word-level tokenizer to go with it
    (the learner loads one; it never tokenizes here)."""
    import torch
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=VOCAB, max_position_embeddings=1024, tie_word_embeddings=True, **SHAPES[shape])
    Qwen2ForCausalLM(config).save_pretrained(directory)
    vocab = {"<pad>": 0, "<eos>": 1, **{f"w{i}": i for i in range(2, VOCAB)}}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<pad>")), pad_token="<pad>", eos_token="<eos>"
    )
    tokenizer.save_pretrained(directory)
    return str(directory)


def settings(**overrides):
    from workers.learner_config import LearnerSettings

    base = dict(lr=1e-4, clip_low=0.2, clip_high=0.28, kl_coef=0.0, max_grad_norm=1.0, max_tokens_per_micro_batch=4096)
    return LearnerSettings(**(base | dict(ppo_epochs=1, device=DEVICE, precision="bf16") | overrides))


def batch_for():
    return synthetic_batch(VOCAB, rows=16, max_len=384, seed=0)


def train(learner, batch, updates: int) -> dict:
    """The learner's own log-probs as the rollout's, then `updates` updates; metrics of the last."""
    import torch

    batch.rollout_logprobs = (learner.score(batch) * torch.from_numpy(batch.policy_mask)).numpy()
    start = time.perf_counter()
    for _ in range(updates):
        metrics = learner.update(batch)
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    metrics["tokens_per_s"] = int(batch.lengths.sum()) * updates / (time.perf_counter() - start)
    return metrics


def finite(metrics: dict) -> bool:
    return all(math.isfinite(v) for v in metrics.values())


def check_bf16(model_dir: str, updates: int) -> dict:
    import torch

    from workers.learner import Learner

    learner = Learner(model_dir, settings(), seed=0)
    before = {k: v.detach().clone() for k, v in learner.model.state_dict().items()}
    metrics = train(learner, batch_for(), updates)
    moved = max((v - before[k]).abs().max().item() for k, v in learner.model.state_dict().items())
    master = {p.dtype for p in learner.model.parameters()}
    return {
        "ok": finite(metrics) and moved > 0 and master == {torch.float32},
        "tokens_per_s": round(metrics["tokens_per_s"]),
        "grad_norm": metrics["actor/grad_norm"],
        "max_weight_change": moved,
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2**30 if DEVICE == "cuda" else None,
    }


def check_lora(model_dir: str, updates: int) -> dict:
    from workers.learner import Learner
    from workers.lora_config import LoraConfig

    lora = LoraConfig(rank=16, alpha=32)
    learner = Learner(model_dir, settings(lora=lora), seed=0)
    base = {n: p.detach().clone() for n, p in learner.model.named_parameters() if "lora_" not in n}
    metrics = train(learner, batch_for(), updates)
    base_kept = all((p == base[n]).all().item() for n, p in learner.model.named_parameters() if "lora_" not in n)
    snapshot, size = learner.weights("bfloat16")
    return {
        "ok": finite(metrics) and base_kept and bool(snapshot.tensors) and size > 0,
        "tokens_per_s": round(metrics["tokens_per_s"]),
        "adapter_sync_bytes": size,
        "base_unchanged": base_kept,
    }


def fsdp_rank(rank: int, world: int, port: int, model_dir: str, updates: int, out: str, device: str) -> None:
    import torch

    from workers.fsdp_group import GroupSpec
    from workers.learner import Learner

    global DEVICE
    DEVICE = device
    if device == "cuda":
        torch.cuda.set_device(rank)
    where = f"cuda:{rank}" if device == "cuda" else "cpu"
    learner = Learner(model_dir, settings(device=where), seed=0, threads=1, group=GroupSpec(rank, world, "127.0.0.1", port))
    metrics = train(learner, batch_for(), updates)
    snapshot, _ = learner.weights("float32")
    if rank == 0:
        torch.save({"metrics": metrics, "weights": snapshot.tensors}, out)
    learner.close()


def check_fsdp2(model_dir: str, updates: int) -> dict:
    import torch
    import torch.multiprocessing as mp

    from workers.learner import Learner

    world = torch.cuda.device_count() if DEVICE == "cuda" else 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(tempfile.mkdtemp(), "rank0.pt")
    mp.spawn(fsdp_rank, args=(world, port, model_dir, updates, out, DEVICE), nprocs=world, join=True)
    sharded = torch.load(out, weights_only=False)
    single = Learner(model_dir, settings(), seed=0)
    start, _ = single.weights("float32")
    alone = train(single, batch_for(), updates)
    reference, _ = single.weights("float32")
    apart = sum(((sharded["weights"][k] - v) ** 2).sum().item() for k, v in reference.tensors.items()) ** 0.5
    moved = sum(((v - start.tensors[k]) ** 2).sum().item() for k, v in reference.tensors.items()) ** 0.5
    norms = (sharded["metrics"]["actor/grad_norm"], alone["actor/grad_norm"])
    return {
        "ok": finite(sharded["metrics"]) and abs(norms[0] - norms[1]) <= 1e-2 * norms[1] and apart <= 1e-2 * moved,
        "ranks": world,
        "sharded": world > 1,  # one GPU: the FSDP2 path (NCCL, DTensors, gathers) ran, but unsharded
        "tokens_per_s": round(sharded["metrics"]["tokens_per_s"]),
        "grad_norm_sharded_vs_single": norms,
        "weights_apart_over_moved": apart / moved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="small")
    args = parser.parse_args()
    import torch

    global DEVICE
    DEVICE = args.device
    verdict: dict = {"cuda": torch.cuda.is_available(), "torch": torch.__version__, "shape": args.shape}
    if DEVICE == "cuda" and not verdict["cuda"]:
        verdict |= {"ok": None, "verdict": "no CUDA device here: nothing checked"}
        print(json.dumps(verdict))
        return
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu"
    verdict |= {"device": name, "gpus": torch.cuda.device_count(), "checks": {}}
    model_dir = build_model(Path(tempfile.mkdtemp()) / f"{args.shape}-random", args.shape)
    for name, check in (("bf16", check_bf16), ("lora", check_lora), ("fsdp2", check_fsdp2)):
        print(f"{name}: checking", file=sys.stderr, flush=True)
        try:
            verdict["checks"][name] = check(model_dir, args.updates)
        except Exception as exc:
            verdict["checks"][name] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc()[-2000:],
            }
    verdict["ok"] = all(c["ok"] for c in verdict["checks"].values())
    print(json.dumps(verdict))
    sys.exit(0 if verdict["ok"] else 1)


if __name__ == "__main__":
    main()
