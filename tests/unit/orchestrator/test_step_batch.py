import random
from collections import Counter

import pytest

from orchestrator.config import load_config
from orchestrator.step_batch import sample_dialogues, sample_requests, score
from orchestrator.step_metrics import batch_metrics
from workers.types import Episode, TokenSequence, TrainBatch


def episode(group: int, final: float, passed: bool, labels=("listen",), intent="listen") -> Episode:
    return Episode(
        scenario_id=f"s{group}",
        intent=intent,
        group=group,
        difficulty=0.3,
        sequences=[TokenSequence([1, 2, 3, 4], [0, 1, 1, 0], [0.0, -0.5, -0.2, 0.0])],
        emotions=[40.0, final],
        labels=list(labels),
        transcript=[("user", "hi"), ("agent", "yo")],
        passed=passed,
    )


def test_score_builds_group_advantages_and_curriculum_stats():
    cfg = load_config(None, ["rollout.group_size=2"])
    episodes = [episode(0, 80, True), episode(0, 20, False), episode(1, 30, False), episode(1, 30, False)]
    batch, stats = score(episodes, cfg)
    metrics = batch_metrics(cfg, episodes, stats)
    s = 2**-0.5
    assert batch.advantages.tolist() == pytest.approx([s, -s, 0.0, 0.0], abs=1e-5)
    assert metrics["reward/frac_zero_std"] == 0.5
    assert stats.pass_rate == 0.25 and stats.informative_group_frac == 0.5
    assert metrics["reward/mean"] == pytest.approx(0.4)
    assert metrics["emotion/final_mean"] == pytest.approx(40.0)
    assert metrics["rollout/response_tokens_mean"] == 2
    assert metrics["rollout/strategy_match_frac"] == 1.0
    assert batch.rollout_logprobs[0].tolist() == pytest.approx([0.0, -0.5, -0.2, 0.0])
    assert stats.group_passes == (1, 0) and stats.group_difficulties == (0.3, 0.3) and stats.group_size == 2
    assert metrics["curriculum/noise_sd"] == pytest.approx(stats.noise_sd) and stats.noise_sd == pytest.approx(0.25)


def test_sample_requests_make_whole_groups_of_one_scenario():
    cfg = load_config(None, ["rollout.group_size=3", "rollout.groups_per_step=4"])
    reqs = sample_requests(cfg, random.Random(0), 0.25, step=2)
    assert len(reqs) == 12
    for g in range(4):
        group = [r for r in reqs if r.group == g]
        assert len(group) == 3 and len({r.scenario.id for r in group}) == 1
        assert all(r.difficulty == 0.25 for r in group)
    assert len({r.scenario.id for r in reqs}) == 4


def test_a_batch_of_more_groups_than_scenarios_uses_each_scenario_as_evenly_as_it_can():
    """The demo split has 42 scenarios; 100 groups once silently became 42."""
    cfg = load_config(None, ["rollout.group_size=2", "rollout.groups_per_step=100"])
    scenarios = cfg.simulator.scenarios_of(cfg.simulator.split)
    reqs = sample_requests(cfg, random.Random(0), 0.5, step=0)
    groups = {r.group: r.scenario.id for r in reqs}
    assert len(reqs) == 200 and len(groups) == 100
    uses = Counter(groups.values())
    assert set(uses) == {s.id for s in scenarios} and max(uses.values()) - min(uses.values()) <= 1
    assert len({r.seed for r in reqs}) == 100


def test_sample_dialogues_show_best_and_worst_with_the_scorers_reading():
    episodes = [episode(0, f, f >= 70, labels=("advise", "listen")) for f in (10, 90, 50, 75)]
    rows = sample_dialogues(episodes, step=7, k=3)
    assert [r["reward"] for r in rows] == [0.9, 0.75, 0.1]
    assert rows[0]["reply_strategies"] == "advise / listen" and rows[0]["hidden_intent"] == "listen"
    assert rows[0]["step"] == 7 and "agent: yo" in rows[0]["dialogue"]


def test_skipped_updates_give_up_only_after_the_limit_in_a_row():
    from orchestrator.trainer import SkippedUpdates

    skips = SkippedUpdates(limit=2)
    assert [skips.record(s) for s in (True, False, True)] == [1.0, 1.0, 2.0]
    assert not skips.exhausted
    skips.record(True)
    assert skips.exhausted and skips.in_a_row == 2 and skips.total == 3


def test_a_batch_carries_every_sequence_of_an_episode_with_its_advantage_as_numpy():
    """A `think` episode has one sequence per reply; each row keeps its episode's advantage and
    index (for per-episode aggregation), and every field is a numpy array (cheap to send via Ray)."""
    two = episode(0, 80, True)
    two.sequences.append(TokenSequence([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 1, 1], [0.0] * 4 + [-0.1, -0.3]))
    batch = TrainBatch.from_episodes([two, episode(0, 20, False)], [0.5, -0.5])
    assert len(batch) == 3 and batch.token_ids.shape == (3, 6)
    assert batch.lengths.tolist() == [4, 6, 4] and batch.episode.tolist() == [0, 0, 1]
    assert batch.advantages.tolist() == [0.5, 0.5, -0.5]
    assert batch.policy_mask[1].tolist() == [False] * 4 + [True] * 2
    assert batch.token_ids[0].tolist() == [1, 2, 3, 4, 0, 0]
    for field in ("token_ids", "lengths", "policy_mask", "rollout_logprobs", "advantages", "episode"):
        assert type(getattr(batch, field)).__module__ == "numpy"


def test_a_sequence_whose_fields_differ_in_length_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        TrainBatch.from_sequences([TokenSequence([1, 2], [0, 1], [0.0])], [1.0])


def test_each_synchronous_phase_gets_every_cpu_the_run_reserved():
    from orchestrator.cluster.run_actors import ActorThreads, actor_threads

    assert actor_threads(load_config()) == ActorThreads(2, 2, passive=False)
    two = load_config(None, ["rollout.num_workers=2", "resources.rollout.num_cpus=1", "resources.learner.num_cpus=2"])
    assert actor_threads(two) == ActorThreads(2, 4, passive=False)
    tiny = load_config(None, ["resources.rollout.num_cpus=0.5", "resources.learner.num_cpus=0.5"])
    assert actor_threads(tiny) == ActorThreads(1, 1, passive=False)
    assert actor_threads(load_config(None, ["resources.share_cpus=false"])) == ActorThreads(1, 1, passive=False)


def test_pipelined_the_learner_takes_every_cpu_and_threads_that_outnumber_cores_sleep():
    from orchestrator.cluster.run_actors import ActorThreads, actor_threads

    piped = ["trainer.pipeline=one_step_off", "resources.rollout.num_cpus=3", "resources.learner.num_cpus=2"]
    threads = actor_threads(load_config(None, piped))
    assert threads == ActorThreads(3, 5, passive=True)
    assert threads.env() == {"OMP_WAIT_POLICY": "PASSIVE"}
    apart = actor_threads(load_config(None, [*piped, "resources.share_cpus=false"]))
    assert apart == ActorThreads(3, 2, passive=False) and apart.env() == {}
