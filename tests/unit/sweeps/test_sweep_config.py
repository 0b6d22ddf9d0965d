import textwrap

import optuna
import pytest

from orchestrator.config import ConfigError
from sweeps.search_space import as_overrides, suggest
from sweeps.sweep_config import load_sweep

GOOD = """
name: t
base: {base}
set: [trainer.eval_every=2, "trainer.eval_levels=[0.8]"]
space:
  curriculum.controller: {{choices: [band, adarft]}}
  algo.lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}
  rollout.group_size: {{low: 2, high: 8, step: 2, integer: true}}
  curriculum.band: {{centre: {{low: 0.4, high: 0.6}}, width: {{low: 0.1, high: 0.3}}}}
"""


def write(tmp_path, text, demo=True):
    from orchestrator.config import default_config_path

    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text).format(base=default_config_path() if demo else "nowhere.yaml"))
    return path


def test_shipped_sweeps_validate():
    from pathlib import Path

    for path in sorted(Path("sweeps").glob("*.yaml")):
        sweep, base = load_sweep(path)
        assert sweep.trials >= 4 and base.trainer.eval_every > 0, path


def test_a_valid_sweep_loads_with_its_base_and_overrides(tmp_path):
    sweep, base = load_sweep(write(tmp_path, GOOD), ["trainer.steps=3"])
    assert base.trainer.steps == 3 and base.trainer.eval_every == 2
    assert sweep.objective.metric == "eval/0.8/score" and sweep.pruner.name == "median"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("name: t", "name: t\nbudget: 3"), "budget: unknown key"),
        (lambda t: t.replace("algo.lr:", "algo.lrr:"), r"space\.algo\.lrr = 0\.0001 does not fit the experiment config"),
        (lambda t: t.replace("low: 1.0e-4, high: 1.0e-2", "low: 1.0e-2, high: 1.0e-4"), "must be below high"),
        (lambda t: t.replace("{{choices: [band, adarft]}}", "{{choices: [band, nope]}}"), "does not fit"),
        (lambda t: t.replace("curriculum.band:", "curriculum.window:"), "curriculum.band takes"),
        (lambda t: t.replace('"trainer.eval_levels=[0.8]"', '"trainer.eval_levels=[0.5]"'), "not eval/<level>/<name>"),
        (lambda t: t.replace("trainer.eval_every=2", "trainer.eval_every=0"), "needs trainer.eval_every > 0"),
    ],
)
def test_bad_sweeps_name_the_field(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=message):
        load_sweep(write(tmp_path, edit(GOOD)))


def test_a_missing_base_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_sweep(write(tmp_path, GOOD, demo=False))


def test_suggestions_are_valid_overrides_named_after_the_keys(tmp_path):
    sweep, base = load_sweep(write(tmp_path, GOOD))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    from orchestrator.config import with_overrides

    for _ in range(20):
        trial = study.ask()
        values = suggest(trial, sweep.space)
        low, high = values["curriculum.band"]
        assert 0 < low < high < 1 and 0.1 - 1e-9 <= high - low <= 0.3 + 1e-9
        assert set(trial.params) == {
            "curriculum.controller",
            "algo.lr",
            "rollout.group_size",
            "curriculum.band.centre",
            "curriculum.band.width",
        }
        config = with_overrides(base, as_overrides(values))
        assert config.curriculum.controller == values["curriculum.controller"] and config.rollout.group_size % 2 == 0
        study.tell(trial, 0.0)


def test_the_schedules_sweep_asks_the_experiments_question():
    """Paired seeds, every controller the experiment compares, and its primary metric: the mean of
    the held-out evaluations at a level the base evaluates."""
    sweep, base = load_sweep("sweeps/schedules.yaml")
    assert sweep.seeds_per_trial == 3
    assert {"fixed", "band", "adarft", "progress"} <= set(sweep.space["curriculum.controller"].choices)
    level = float(sweep.objective.metric.split("/")[1])
    assert sweep.objective.reduce == "mean" and base.trainer.eval_levels == [level]


@pytest.mark.parametrize(("reduce", "expected"), [("last", 30.0), ("mean", 20.0)])
def test_a_runs_objective_is_its_last_evaluation_or_their_mean(tmp_path, reduce, expected):
    text = GOOD + f"objective: {{{{metric: eval/0.8/score, reduce: {reduce}}}}}\n"
    sweep, _ = load_sweep(write(tmp_path, text))
    assert sweep.objective.of([10.0, 20.0, 30.0]) == expected
