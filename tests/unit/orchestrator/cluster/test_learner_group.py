"""Which rank a failed learner-group call blames."""

from ray.exceptions import ActorDiedError, RayActorError

from orchestrator.cluster.learner_group import _cause


def test_a_rank_whose_process_died_is_blamed_over_peers_that_lost_it():
    lost_peer = RuntimeError("Connection closed by peer")
    assert _cause({0: lost_peer, 1: ActorDiedError()}) == 1
    assert _cause({0: lost_peer, 2: RuntimeError("also lost"), 1: RayActorError()}) == 1


def test_without_a_death_the_first_failure_is_blamed():
    assert _cause({1: ValueError("bad batch"), 0: RuntimeError("Connection closed by peer")}) == 1
