"""The images and the compose stack, checked without building them: hadolint on both
Dockerfiles, `docker compose config` where docker compose is installed, and the compose file's
promises (services, 127.0.0.1-only ports) read directly."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
HADOLINT = Path(sys.executable).with_name("hadolint")


@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.gpu"])
def test_dockerfiles_lint_clean(name):
    out = subprocess.run([HADOLINT, "--no-color", str(DOCKER / name)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_compose_stack_has_its_services_and_publishes_only_on_loopback():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert set(compose["services"]) == {"postgres", "mlflow", "ray-head", "ray-worker"}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    assert "postgresql://" in compose["services"]["mlflow"]["command"]


def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed here (the file is still parsed by the test above)")
    out = subprocess.run(
        [docker, "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
