"""Run one generation backend in a fresh process (vLLM promises no second in-process engine) and
print what it sampled and the log-probs it reported, as JSON:

    python -m tests.support.sampled_logprobs BACKEND MODEL_DIR TEMPERATURE MAX_NEW_TOKENS PROMPTS_JSON
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sample_in_subprocess(backend: str, model_dir: str, prompts: list[list[int]], temperature: float, max_new_tokens: int):
    """Each prompt's generation as a dict: token_ids, logprobs, finished."""
    args = [backend, model_dir, str(temperature), str(max_new_tokens), json.dumps(prompts)]
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.sampled_logprobs", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{backend} generation failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    backend_name, model_dir, temperature, max_new_tokens, prompts = sys.argv[1:6]
    from workers.backends import SamplingConfig, make_backend

    backend = make_backend(backend_name, model_dir, max_model_len=512, dtype="float32", seed=0)
    sampling = SamplingConfig(max_new_tokens=int(max_new_tokens), temperature=float(temperature))
    out = backend.generate(json.loads(prompts), sampling)
    print(json.dumps([{"token_ids": g.token_ids, "logprobs": g.logprobs, "finished": g.finished} for g in out]))


if __name__ == "__main__":
    main()
