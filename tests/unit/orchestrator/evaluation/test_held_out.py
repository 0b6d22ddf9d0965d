import numpy as np
import pytest

from orchestrator.config import load_config
from orchestrator.evaluation.held_out import eval_requests, level_key, level_metrics, play_policy, report, summarise
from orchestrator.evaluation.user_policy import PolicyError, load_policy
from workers.env.scenarios.scenario_bank import load_scenarios
from workers.types import Episode


def episode(level: float, emotions: list[float], scenario: str = "s") -> Episode:
    return Episode(scenario, "listen", 0, level, [], emotions, ["listen"] * (len(emotions) - 1))


def test_summary_by_level_matches_hand_computed_values():
    eps = [episode(0.2, [50, 80]), episode(0.2, [50, 40, 5]), episode(0.8, [30, 70]), episode(0.8, [30, 0])]
    low, high = summarise(eps, pass_threshold=70)
    assert low.level == 0.2 and low.score == pytest.approx(42.5) and low.success_rate == 0.5
    assert low.failure_rate == 0.5 and low.mean_turns == 1.5 and low.episodes == 2
    assert high.score == 35 and high.success_rate == 0.5 and high.failure_rate == 0.5 and high.mean_turns == 1


def test_the_standard_error_is_stratified_by_scenario():
    """Two scenarios far apart but each steady: only the spread inside each is noise."""
    steady = [episode(0.5, [30, v], "a") for v in (10, 12)] + [episode(0.5, [30, v], "b") for v in (90, 92)]
    (score,) = summarise(steady, 70)
    assert score.score_se == pytest.approx(((0.5**2 * 2 / 2) * 2) ** 0.5)
    plain = summarise([episode(0.5, [30, v], s) for v, s in ((10, "a"), (12, "b"), (90, "c"), (92, "d"))], 70)[0]
    assert plain.score_se == pytest.approx(float(np.std([10, 12, 90, 92], ddof=1) / 2))
    assert plain.score_se > 10 * score.score_se


def test_requests_cover_every_level_and_scenario_with_level_independent_seeds():
    scenarios = load_scenarios("en", "test")[:3]
    reqs = eval_requests(scenarios, [0.2, 0.8], seed=1)
    assert [(r.difficulty, r.scenario.id) for r in reqs[:3]] == [(0.2, s.id) for s in scenarios]
    assert [r.seed for r in reqs[:3]] == [r.seed for r in reqs[3:]]
    assert len({r.group for r in reqs}) == 6


def test_metric_names():
    (score,) = summarise([episode(0.5, [40, 90])], 70)
    names = {"eval/0.5/score", "eval/0.5/success_rate", "eval/0.5/failure_rate", "eval/0.5/turns_mean", "eval/0.5/score_se"}
    assert set(level_metrics([score])) == names
    assert level_key(0.2) == "0.2" and level_key(1.0) == "1"


def test_scripted_matching_beats_generic_at_every_level_and_falls_with_difficulty():
    cfg = load_config()
    reqs = eval_requests(load_scenarios("en", "test"), [0.2, 0.5, 0.8], cfg.seed)
    matching, generic, stuffing = (
        summarise(play_policy(load_policy(f"scripted:{name}"), reqs, cfg), cfg.simulator.pass_threshold)
        for name in ("matching", "generic", "stuffing")
    )
    assert all(m.score > g.score for m, g in zip(matching, generic, strict=True))
    assert all(m.score > s.score for m, s in zip(matching, stuffing, strict=True))
    assert matching[0].score > matching[1].score > matching[2].score
    out = report("scripted:matching", cfg, "test", matching)
    assert out["scenarios"] == "en/test" and "70" in out["success_definition"] and len(out["levels"]) == 3


def test_unknown_scripted_policy_is_named():
    cfg = load_config()
    with pytest.raises(ValueError, match="'oracle'"):
        play_policy(load_policy("scripted:oracle"), eval_requests(load_scenarios("en", "test")[:1], [0.2], 0), cfg)


ORACLE = """
from workers.env.phrases import phrase_bank


def reply(dialogue, scenario):
    assert dialogue[0]["role"] == "user" and dialogue[-1]["role"] == "user"
    return phrase_bank().strategies[scenario.intent].replies[len(dialogue) // 2 % 4]
"""


def test_a_users_oracle_policy_reads_the_hidden_need_and_beats_matching_when_cues_are_hidden(tmp_path):
    (tmp_path / "oracle.py").write_text(ORACLE)
    cfg = load_config(None, ["simulator.intents=null"])
    reqs = eval_requests(load_scenarios("en", "test"), [0.9], cfg.seed)
    oracle = summarise(play_policy(load_policy(f"python:{tmp_path / 'oracle.py'}:reply"), reqs, cfg), 70)
    matching = summarise(play_policy(load_policy("scripted:matching"), reqs, cfg), 70)
    assert oracle[0].score >= matching[0].score + 40 and oracle[0].failure_rate < matching[0].failure_rate


def test_the_built_in_oracle_is_the_users_oracle_and_the_expert_asks_its_way_near_it(tmp_path):
    """`--policy oracle` answers the hidden need as the user-written oracle above does; the
    `expert`, which must ask for a need it was not told, ends within 15 points of it."""
    (tmp_path / "oracle.py").write_text(ORACLE)
    cfg = load_config(None, ["simulator.intents=null"])
    reqs = eval_requests(load_scenarios("en", "test"), [0.5, 1.0], cfg.seed)
    built_in = summarise(play_policy(load_policy("oracle"), reqs, cfg), 70)
    users = summarise(play_policy(load_policy(f"python:{tmp_path / 'oracle.py'}:reply"), reqs, cfg), 70)
    expert = summarise(play_policy(load_policy("scripted:expert"), reqs, cfg), 70)
    for b, u, e in zip(built_in, users, expert, strict=True):
        assert b.score == pytest.approx(u.score, abs=1.0)
        assert e.score >= b.score - 15


@pytest.mark.parametrize(
    ("source", "func", "message"),
    [
        ("def reply(d, s):\n    return 'x' +\n", "reply", "bad.py:2: syntax error"),
        ("import nowhere_to_be_found\n", "reply", "bad.py:1: ModuleNotFoundError while loading"),
        ("def other(d, s):\n    return 'x'\n", "reply", "no function 'reply'"),
        ("def reply(d, s):\n    x = 1\n    return s.mood\n", "reply", "bad.py:3: AttributeError in reply()"),
        ("def reply(d, s):\n    return 42\n", "reply", "returned int"),
    ],
)
def test_errors_in_a_users_policy_file_name_its_path_and_line(tmp_path, source, func, message):
    (tmp_path / "bad.py").write_text(source)
    requests = eval_requests(load_scenarios("en", "test")[:1], [0.2], 0)
    with pytest.raises(PolicyError, match=message):
        play_policy(load_policy(f"python:{tmp_path / 'bad.py'}:{func}"), requests, load_config())


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(f"python:{tmp_path / 'nope.py'}:reply")


def test_a_small_evaluation_spans_every_held_out_situation_and_need():
    from orchestrator.evaluation.held_out import stratified
    from workers.env.scenarios.english_scenarios import english_split

    test = english_split("test")
    picked = stratified(test, 16)
    assert {(s.topic, s.intent) for s in picked} == {(s.topic, s.intent) for s in test}
    assert len({s.personality for s in picked}) == 3
    assert set(stratified(test, None)) == set(test)


def test_an_evaluation_larger_than_the_split_goes_round_again_with_new_seeds():
    from orchestrator.evaluation.held_out import stratified
    from workers.env.scenarios.english_scenarios import english_split

    test = english_split("test")
    picked = stratified(test, len(test) + 10)
    assert len(picked) == len(test) + 10 and set(picked) == set(test)
    requests = eval_requests(picked, [0.5], seed=0)
    assert len({r.seed for r in requests}) == len(picked)
