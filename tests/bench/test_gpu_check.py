"""bench/gpu_check.py, as a GPU machine would run it: a plain interpreter without Ray, vLLM or
MLflow. Here (no CUDA) it must say so and exit 0, and its checks must pass on CPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"
WITHOUT_DRIVER_SIDE = (
    "import runpy, sys\n"
    "for name in ('ray', 'vllm', 'mlflow', 'optuna', 'typer', 'rich'):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def gpu_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DRIVER_SIDE, str(SCRIPT), *args], capture_output=True, text=True, timeout=600
    )


def test_without_cuda_it_says_so_and_exits_0():
    out = gpu_check()
    assert out.returncode == 0, out.stderr
    verdict = json.loads(out.stdout.splitlines()[-1])
    assert verdict["cuda"] is False and verdict["ok"] is None and "no CUDA" in verdict["verdict"]


@pytest.mark.slow
def test_its_checks_pass_on_cpu_with_only_the_learner_side_importable():
    out = gpu_check("--device", "cpu", "--shape", "tiny", "--updates", "1")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    verdict = json.loads(out.stdout.splitlines()[-1])
    assert verdict["ok"] is True and set(verdict["checks"]) == {"bf16", "lora", "fsdp2"}
    assert verdict["checks"]["fsdp2"]["ranks"] == 2 and verdict["checks"]["fsdp2"]["sharded"] is True
    assert verdict["checks"]["lora"]["base_unchanged"] is True
