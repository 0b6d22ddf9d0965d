"""The difficulty knob is smooth: on a 0.05 grid, with 648 dialogues a point (every scenario of
the bank x 3 seeds, the same draws at every d), for `matching`, `expert`, `generic` and matching
that fits on only half or four fifths of its turns:

* the pass rate never rises with d, and never drops by more than 0.2 between neighbours;
* where it lies in (0.05, 0.95) it has no flat run (a change under 0.01) longer than 0.15;
* the mean reward of every scripted policy never rises with d.
"""

import numpy as np
import pytest

from orchestrator.evaluation.held_out import PASS_THRESHOLD, final_emotions
from workers.env.scripted_policies import SCRIPTED_POLICIES, scripted_policy

LEVELS = np.round(np.arange(0, 1.0001, 0.05), 2)
SEEDS = (0, 1, 2)
SMOOTH_POLICIES = ("matching", "expert", "generic", "noisy50", "noisy80")


@pytest.fixture(scope="module")
def finals():
    return {name: final_emotions(scripted_policy(name), LEVELS, seeds=SEEDS) for name in SCRIPTED_POLICIES}


def test_at_least_480_dialogues_a_point(finals):
    assert finals["matching"].shape == (len(LEVELS), 648)


@pytest.mark.parametrize("name", SMOOTH_POLICIES)
def test_pass_rate_falls_smoothly(finals, name):
    p = (finals[name] >= PASS_THRESHOLD).mean(axis=1)
    table = dict(zip(LEVELS.tolist(), p.round(3).tolist(), strict=True))
    assert np.all(np.diff(p) <= 0), table
    assert np.all(-np.diff(p) <= 0.2), table
    for i in range(len(p) - 4):  # four steps of 0.05 span 0.2 > 0.15
        window = p[i : i + 5]
        if np.all((window > 0.05) & (window < 0.95)):
            assert window[0] - window[-1] >= 0.01, (LEVELS[i], table)


@pytest.mark.parametrize("name", sorted(SCRIPTED_POLICIES))
def test_mean_reward_never_rises_with_difficulty(finals, name):
    mean = finals[name].mean(axis=1)
    assert np.all(np.diff(mean) <= 1e-9), dict(zip(LEVELS.tolist(), mean.round(2).tolist(), strict=True))


def test_the_knob_spans_the_band_for_matching(finals):
    """The curriculum needs a pass rate of 0.5 somewhere inside the knob for a cue-reading policy."""
    p = (finals["matching"] >= PASS_THRESHOLD).mean(axis=1)
    assert p[0] > 0.95 and p[-1] < 0.1
