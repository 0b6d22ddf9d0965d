"""`goldilocks eval`'s argument checks, in process: each bad combination fails with exit status 2
and a message naming the option, before any model or simulator is touched. (tests/e2e/test_cli.py
runs one through the installed console script.)"""

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "scripted:matching", "--checkpoint", "x"], "exactly one of"),
        ([], "exactly one of"),
        (["--policy", "matching"], "expected scripted:NAME"),
        (["--policy", "scripted:oracle"], "unknown scripted policy 'oracle'"),
        (["--policy", "scripted:generic", "--levels", "0.2,1.4"], "--levels"),
        (["--policy", "scripted:generic", "--scenarios", "dev"], "--scenarios"),
        (["--checkpoint", "no-such-dir"], "no config.json"),
        (["--policy", "scripted:generic", "--protocol", "sage"], "--protocol sage: protocol sage plays RLVER's LLM user"),
        (["--policy", "scripted:generic", "--protocol", "sage", "--levels", "0.5"], "no difficulty levels"),
        (["--policy", "scripted:generic", "--protocol", "sentient"], "--protocol: expected one of goldilocks, sage"),
        (["--policy", "scripted:generic", "--protocol", "sage", "--scenarios", "train"], "RLVER's 100 test profiles only"),
    ],
)
def test_eval_argument_errors_are_named(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["eval", *args], terminal_width=200)
    assert out.exit_code == 2 and message in out.output, out.output
