import numpy as np
import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.curriculum.controllers import BatchStats, make_controller
from orchestrator.curriculum.progress_bandit import choose_level, learning_progress

LEVELS = [0.2, 0.5, 0.8]


def test_progress_is_the_absolute_slope_of_reward_per_step():
    assert learning_progress([(0, 0.1), (2, 0.5), (4, 0.9)]) == pytest.approx(0.2)
    assert learning_progress([(0, 0.9), (2, 0.5), (4, 0.1)]) == pytest.approx(0.2)
    assert learning_progress([(3, 0.4)]) == 0.0
    assert learning_progress([(3, 0.4), (3, 0.6)]) == 0.0


def test_every_level_is_tried_twice_easiest_first_before_the_bandit_compares():
    rng = np.random.default_rng(0)
    history: list[tuple[int, float, float]] = []
    for step in range(6):
        level = choose_level(history, LEVELS, window=4, epsilon=0.0, rng=rng)
        history.append((step, level, 0.5))
    assert [d for _, d, _ in history] == [0.2, 0.2, 0.5, 0.5, 0.8, 0.8]


def test_greedy_choice_is_where_reward_moves_fastest_rising_or_falling():
    rng = np.random.default_rng(0)
    rising_at_middle = [(0, 0.2, 0.9), (1, 0.2, 0.9), (2, 0.5, 0.2), (3, 0.5, 0.6), (4, 0.8, 0.0), (5, 0.8, 0.05)]
    assert choose_level(rising_at_middle, LEVELS, 4, 0.0, rng) == 0.5
    forgetting_the_easy = [(0, 0.2, 0.9), (1, 0.2, 0.3), (2, 0.5, 0.4), (3, 0.5, 0.45), (4, 0.8, 0.0), (5, 0.8, 0.05)]
    assert choose_level(forgetting_the_easy, LEVELS, 4, 0.0, rng) == 0.2


def test_only_the_latest_window_visits_count():
    rng = np.random.default_rng(0)
    old_jump = [(0, 0.2, 0.0), (1, 0.2, 1.0), (2, 0.2, 1.0), (3, 0.2, 1.0), (4, 0.5, 0.2), (5, 0.5, 0.3)]
    assert choose_level(old_jump, [0.2, 0.5], window=2, epsilon=0.0, rng=rng) == 0.5
    assert choose_level(old_jump, [0.2, 0.5], window=4, epsilon=0.0, rng=rng) == 0.2


def test_steps_the_guard_moved_off_the_levels_are_not_visits():
    history = [(0, 0.2, 0.1), (1, 0.2, 0.2), (2, 0.45, 0.9)]
    assert choose_level(history, LEVELS, 4, 0.0, np.random.default_rng(0)) == 0.5


def test_exploration_visits_every_level_at_its_rate():
    history = [(s, d, 0.5 + 0.1 * s * (d == 0.5)) for s, d in enumerate([0.2, 0.2, 0.5, 0.5, 0.8, 0.8])]
    rng = np.random.default_rng(0)
    picks = [choose_level(history, LEVELS, 4, 0.3, rng) for _ in range(3000)]
    shares = {level: picks.count(level) / len(picks) for level in LEVELS}
    assert shares[0.5] == pytest.approx(0.7 + 0.1, abs=0.03)
    assert shares[0.2] == pytest.approx(0.1, abs=0.03) and shares[0.8] == pytest.approx(0.1, abs=0.03)


def test_the_controller_trains_where_its_synthetic_learner_improves_and_reads_its_own_study():
    """Reward rises at 0.5 only; after the first sweep over the levels the greedy bandit stays there."""
    cfg = load_config(
        None,
        [
            "curriculum.controller=progress",
            "curriculum.progress_levels=[0.2,0.5,0.8]",
            "curriculum.progress_epsilon=0",
            "trainer.steps=20",
        ],
    )
    c = make_controller(cfg, "study", None)
    trained_at_middle = 0
    picks = []
    for step in range(12):
        d = c.propose(step).difficulty
        picks.append(d)
        trained_at_middle += d == 0.5
        reward = {0.2: 0.9, 0.5: 0.2 + 0.05 * trained_at_middle, 0.8: 0.05}[d]
        c.observe(step, d, BatchStats(pass_rate=reward, informative_group_frac=0.5, reward_mean=reward))
    assert picks[:6] == [0.2, 0.2, 0.5, 0.5, 0.8, 0.8]
    assert picks[6:] == [0.5] * 6


@pytest.mark.parametrize("levels", ["[0.5,0.2]", "[0.2,0.2]", "[0.2,1.5]"])
def test_levels_must_be_ascending_distinct_and_in_range(levels):
    with pytest.raises(ConfigError, match="progress_levels"):
        load_config(None, [f"curriculum.progress_levels={levels}"])
