"""Spreading an `llm` user's requests over the run's simulator servers: a dialogue kept on its
server (sticky) or each request to the least loaded, a failed server asked again before it takes
more, a server gone for good dropped."""

import asyncio

import pytest

from workers.env.users.chat_routes import Dialogue, NoServerReady, Route, Routes, Routing, ServerGone, rank


class FakeServer:
    """Answers its address like a simulator server's actor: the address moves on a restart."""

    def __init__(self, url: str):
        self.url = url
        self.calls = 0
        self.gone = False
        self.delay_s = 0.0

    async def resolve(self) -> str:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.gone:
            raise ServerGone("gone")
        return self.url


def served(*servers: FakeServer, timeout_s: float = 1.0, routing: Routing = "least_loaded") -> Routes:
    routes = [Route(f"server_{i}", None, s.resolve) for i, s in enumerate(servers)]
    return Routes(routes, resolve_timeout_s=timeout_s, routing=routing)


def ready_routes(n: int, routing: Routing = "sticky", load_factor: float = 1.25) -> Routes:
    return Routes([Route(f"server_{i}", f"http://{i}/v1") for i in range(n)], 1.0, routing=routing, load_factor=load_factor)


def test_a_dialogue_stays_on_one_server_and_dialogues_spread_over_all():
    routes = ready_routes(3)
    homes = {}
    for d in range(300):
        dialogue = Dialogue(f"dialogue-{d}")
        homes[dialogue] = routes.pick(dialogue).name
        assert all(routes.pick(dialogue).name == homes[dialogue] for _ in range(5))
    counts = [list(homes.values()).count(f"server_{i}") for i in range(3)]
    assert all(70 <= c <= 130 for c in counts), counts


def test_a_server_going_down_moves_only_its_own_dialogues_and_they_come_back():
    routes = ready_routes(3)
    homes = {d: routes.pick(d) for d in (Dialogue(f"d{i}") for i in range(200))}
    down = routes.routes[1]
    down.stale = True
    for dialogue, home in homes.items():
        now = routes.pick(dialogue)
        assert now is not down
        if home is not down:
            assert now is home
    down.stale = False
    assert all(routes.pick(dialogue) is home for dialogue, home in homes.items())


def test_an_overloaded_server_passes_a_turn_to_the_dialogues_next_choice():
    routes = ready_routes(2, load_factor=1.0)
    dialogue = Dialogue("d")
    home = routes.pick(dialogue)
    other = next(r for r in routes.routes if r is not home)
    home.outstanding = 3  # bound: ceil(1.0 x (3 + 0 + 1) / 2) = 2
    assert routes.pick(dialogue) is other
    home.outstanding, other.outstanding = 2, 1  # bound ceil(4 / 2) = 2: still past it
    assert routes.pick(dialogue) is other
    home.outstanding = 1  # bound ceil(3 / 2) = 2: under it, home again
    assert routes.pick(dialogue) is home


def test_a_request_answered_by_another_server_than_its_dialogues_last_counts_as_switched():
    routes = ready_routes(2)
    a, b = routes.routes
    d, e = Dialogue("d"), Dialogue("e")
    assert not routes.answered(d, a)  # the dialogue's first request
    assert not routes.answered(d, a)
    assert routes.answered(d, b) and routes.answered(d, a)
    assert not routes.answered(None, b) and not routes.answered(e, b)


def test_a_groups_dialogues_share_a_server_and_a_mate_answered_elsewhere_is_not_a_switch():
    routes = ready_routes(4)
    for seed in range(50):
        mates = [Dialogue.of_user(seed, "scenario-7") for _ in range(3)]
        assert len({m.id for m in mates}) == 3
        home = routes.pick(mates[0])
        assert all(routes.pick(m) is home for m in mates)
        other = next(r for r in routes.routes if r is not home)
        assert not routes.answered(mates[0], home) and not routes.answered(mates[1], other)
        assert not routes.answered(mates[0], home)


def test_a_group_larger_than_a_servers_share_spreads_once_and_then_each_dialogue_stays_put():
    routes = ready_routes(2)
    group = [Dialogue.of_user(3, "scenario-1") for _ in range(8)]
    for turn in range(4):
        order = group if turn % 2 == 0 else group[::-1]  # the turn's requests arrive in another order
        picked = []
        for d in order:  # a burst: every request outstanding until the turn's answers
            route = routes.pick(d)
            route.outstanding += 1
            picked.append((d, route))
        assert sorted(r.outstanding for r in routes.routes) == [3, 5]  # the bound spread the group
        switched = [routes.answered(d, route) for d, route in picked]
        assert not any(switched), f"turn {turn}: {sum(switched)} of 8 dialogues changed server"
        for r in routes.routes:
            r.outstanding = 0


def test_a_repeated_run_routes_its_dialogues_the_same_way():
    first, again = ready_routes(3), ready_routes(3)
    users = [(seed, f"scenario-{seed % 7}") for seed in range(100)]
    homes = [first.pick(Dialogue.of_user(*u)).name for u in users]
    assert [again.pick(Dialogue.of_user(*u)).name for u in users] == homes
    assert len(set(homes)) == 3


def test_least_loaded_ignores_the_dialogue():
    routes = ready_routes(2, routing="least_loaded")
    routes.routes[0].outstanding = 1
    assert {routes.pick(Dialogue(f"d{i}")).name for i in range(20)} == {"server_1"}


def test_requests_go_to_the_route_with_the_fewest_outstanding():
    async def run():
        a, b = FakeServer("http://a/v1"), FakeServer("http://b/v1")
        routes = served(a, b)
        first = await routes.acquire()  # both unresolved: waits for the first to answer
        first.outstanding += 1
        second = await routes.acquire()
        assert {first.url, second.url} == {"http://a/v1", "http://b/v1"}
        second.outstanding += 2
        assert (await routes.acquire()) is first  # 1 outstanding beats 2
        return a.calls, b.calls

    assert asyncio.run(run()) == (1, 1)


def test_the_first_dialogues_are_placed_by_their_keys_not_on_the_server_that_answered_first():
    async def run():
        fast, slow = FakeServer("http://fast/v1"), FakeServer("http://slow/v1")
        slow.delay_s = 0.05
        routes = served(fast, slow, routing="sticky")
        prefer_slow = [d for d in (Dialogue(f"d{i}") for i in range(40)) if rank(d.key, "server_1") > rank(d.key, "server_0")]
        first = await asyncio.gather(*(routes.acquire(d) for d in prefer_slow[:3]))
        return [r.url for r in first]

    assert asyncio.run(run()) == ["http://slow/v1"] * 3


def test_a_failed_route_is_asked_again_and_counts_a_restart_when_its_address_moved():
    async def run():
        a, b = FakeServer("http://a/v1"), FakeServer("http://b/v1")
        routes = served(a, b)
        await routes.acquire()
        await asyncio.sleep(0)
        route_a = next(r for r in routes.routes if r.url == "http://a/v1")
        a.url = "http://a2/v1"
        routes.failed(route_a)
        assert not route_a.ready and routes.pick() is not route_a  # the other takes the load meanwhile
        await asyncio.sleep(0.01)
        return route_a

    route = asyncio.run(run())
    assert route.ready and route.url == "http://a2/v1" and route.refreshes == 1


def test_a_fixed_endpoint_is_retried_as_it_is():
    async def run():
        routes = Routes([Route("", "http://endpoint/v1")], resolve_timeout_s=1.0)
        route = await routes.acquire()
        routes.failed(route)
        return route, await routes.acquire()

    before, after = asyncio.run(run())
    assert before is after and after.ready


def test_no_server_ready_within_the_timeout_is_transient_and_every_server_gone_is_not():
    async def slow():
        server = FakeServer("http://a/v1")
        server.delay_s = 1.0
        await served(server, timeout_s=0.05).acquire()

    with pytest.raises(NoServerReady, match=r"server_0 \(restarting\)"):
        asyncio.run(slow())

    async def gone():
        a, b = FakeServer("http://a/v1"), FakeServer("http://b/v1")
        a.gone = b.gone = True
        routes = served(a, b)
        with pytest.raises(NoServerReady):
            await routes.acquire()
        await routes.acquire()

    with pytest.raises(ServerGone, match="every simulator server is gone for good: server_0, server_1"):
        asyncio.run(gone())


def test_a_route_needs_somewhere_to_go():
    with pytest.raises(ValueError, match="at least one route"):
        Routes([], resolve_timeout_s=1.0)
