"""The driver's handle on the learner: one Ray actor, or `resources.learner.num_workers` actors
that form one sharded group (`workers.fsdp_group`).

Every call goes to every rank (a sharded model's every forward is a collective) and the driver
waits on all of them, not only rank 0's: a rank that dies leaves the others blocked in a
collective, so the group is stopped as soon as any rank fails, and the failure names the rank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workers.types import TrainBatch


class LearnerFailed(RuntimeError):
    """A learner rank died or raised; the group is stopped (its ranks were waiting on each other)."""


@dataclass
class PendingCall:
    """A call in flight on every rank: `refs[i]` is rank i's result."""

    what: str
    refs: list


class LearnerGroup:
    def __init__(self, ranks: list):
        self.ranks = ranks

    @property
    def size(self) -> int:
        return len(self.ranks)

    def submit_update(self, batch: TrainBatch) -> PendingCall:
        import ray

        shared = ray.put(batch)  # one copy in the object store, not one per rank
        refs = [rank.update.remote(shared) for rank in self.ranks]
        return PendingCall("update", refs)

    def result(self, call: PendingCall):
        """Rank 0's result, once every rank has finished; LearnerFailed if any rank did not."""
        return self._wait(call)[0]

    def update(self, batch: TrainBatch) -> dict[str, float]:
        return self.result(self.submit_update(batch))

    def request_weights(self, dtype: str) -> tuple[object, PendingCall]:
        """(a reference to rank 0's weight snapshot, the call that gives its size in bytes), at
        once: the snapshot is taken when the ranks reach the call, after any update queued before
        it. The rollout workers fetch it themselves; the driver never holds the weights."""
        pairs = [rank.weights.options(num_returns=2).remote(dtype) for rank in self.ranks]
        return pairs[0][0], PendingCall("weights", [size for _, size in pairs])

    def weights(self, dtype: str):
        """(a reference to rank 0's weight snapshot, its size in bytes), once taken."""
        snapshot, sizes = self.request_weights(dtype)
        return snapshot, self.result(sizes)

    def save(self, path: str) -> None:
        self.result(PendingCall("save", [rank.save.remote(path) for rank in self.ranks]))

    def restore(self, path: str) -> int:
        return self.result(PendingCall("restore", [rank.restore.remote(path) for rank in self.ranks]))

    def call(self, method: str, *args):
        """Any other learner method, on every rank (rank 0's answer)."""
        return self.result(PendingCall(method, [getattr(rank, method).remote(*args) for rank in self.ranks]))

    def _wait(self, call: PendingCall) -> list:
        """Every rank's result, in rank order, once all have finished; on the first failure stop
        the group and raise."""
        import ray

        results: list = [None] * len(call.refs)
        remaining = list(call.refs)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1, fetch_local=False)
            rank = call.refs.index(done[0])
            try:
                results[rank] = ray.get(done[0])
            except Exception as exc:
                failures = {rank: exc, **_failures_within(call.refs, remaining, CAUSE_GRACE_S)}
                self.stop()
                rank = _cause(failures)
                raise LearnerFailed(
                    f"learner rank {rank} of {self.size} failed during {call.what}: {_why(failures[rank])}"
                ) from None
        return results

    def stop(self) -> None:
        import ray

        for rank in self.ranks:
            ray.kill(rank, no_restart=True)


CAUSE_GRACE_S = 5.0
"""How long a failed call waits for the other ranks' outcomes before naming the failed rank: when
a rank's process dies, its peers' collectives fail within milliseconds, often before Ray reports
the death itself."""


def _failures_within(refs: list, remaining: list, seconds: float) -> dict[int, BaseException]:
    """The ranks among `remaining` that fail within `seconds`, with their exceptions."""
    import ray

    if not remaining:
        return {}
    done, _ = ray.wait(remaining, num_returns=len(remaining), timeout=seconds, fetch_local=False)
    failures = {}
    for ref in done:
        try:
            ray.get(ref)
        except Exception as exc:
            failures[refs.index(ref)] = exc
    return failures


def _cause(failures: dict[int, BaseException]) -> int:
    """The rank to blame: the first whose process died (its peers only lost their connection to
    it), else the first to fail."""
    from ray.exceptions import RayActorError

    died = [rank for rank, exc in failures.items() if isinstance(exc, RayActorError)]
    return died[0] if died else next(iter(failures))


def _why(exc: BaseException) -> str:
    """The rank's own exception when it raised one; else that its process ended, with Ray's
    exit type when it names one (the worker's log has the rest)."""
    import re

    from ray.exceptions import RayTaskError

    if isinstance(exc, RayTaskError) and isinstance(exc.cause, BaseException):
        return f"{type(exc.cause).__name__}: {exc.cause}"
    exit_type = re.search(r"Worker exit type: (\w+)", str(exc))
    return "its process died" + (f" (exit type {exit_type.group(1)})" if exit_type else "")


def start_learner_group(
    make_rank: Callable[[int, object], object],
    size: int,
    rendezvous_strategy,
) -> LearnerGroup:
    """`size` learner actors, made by `make_rank(rank, group_spec)` (group_spec None for a lone
    learner); a group meets at a free port on rank 0's node, found by a task in its bundle."""
    import ray

    from workers.fsdp_group import GroupSpec, rendezvous_address

    if size == 1:
        ranks = [make_rank(0, None)]
    else:
        address, port = ray.get(
            ray.remote(rendezvous_address).options(num_cpus=0, scheduling_strategy=rendezvous_strategy).remote()
        )
        ranks = [make_rank(i, GroupSpec(i, size, address, port)) for i in range(size)]
    group = LearnerGroup(ranks)
    group.result(PendingCall("start", [rank.__ray_ready__.remote() for rank in ranks]))
    return group
