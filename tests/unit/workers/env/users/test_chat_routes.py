"""Spreading an `llm` user's requests over the run's simulator servers: least outstanding first,
a failed server asked again before it takes more, a server gone for good dropped."""

import asyncio

import pytest

from workers.env.users.chat_routes import NoServerReady, Route, Routes, ServerGone


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


def served(*servers: FakeServer, timeout_s: float = 1.0) -> Routes:
    return Routes([Route(f"server_{i}", None, s.resolve) for i, s in enumerate(servers)], resolve_timeout_s=timeout_s)


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
