"""Where an `llm` user's requests go: one endpoint started outside the run, or the run's own
simulator servers (simulator.serve).

Among served routes, `sticky` routing keeps a dialogue on one server, so each turn's prompt (the
last turn's prompt and answer, plus a little) finds its prefix in that server's cache instead of
being prefilled again elsewhere. A GRPO group's dialogues go together: they play one user (one
seed, one scenario), so their persona prompt and opening request, the same for all of them, meet
one server's cache rather than one on each server. The server is the dialogue's first by
rendezvous hashing (each server ranked by a hash of the dialogue's key and the server's name);
the key comes from the run's seeds, so a repeated run places its dialogues the same way. A
server is overloaded past `load_factor` times the fair share of outstanding requests
(consistent hashing with bounded loads, Mirrokni, Thorup and Zadimoghaddam 2018); a dialogue
that finds its first choice overloaded or not ready (dead, restarting) takes the next in its
ranking, and from then on goes back to the server that last answered it while that one is
ready and under the bound: a group larger than a server's share spreads once and then stays put.
`least_loaded` sends each request to the server with the fewest requests outstanding.

A served route knows how to ask its server where it listens now (`resolve`): a server that dies
comes back from Ray on another port, perhaps another node. A request that fails on a route marks
it stale and is retried (by the caller's retry policy) on another, the one the routing picks; the
stale route asks its server again in the background and rejoins once it answers. A route whose
server is gone for good (its restarts used up) is dropped. The balance is per rollout worker: no
router sits between the workers and the servers, so no extra hop and no single point of failure,
at the price of a balance that is exact only within each worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Resolver = Callable[[], Awaitable[str]]
"""Asks a served route's server for its base URL; raises ServerGone when it will not come back."""


class ServerGone(RuntimeError):
    """A simulator server died and will not be restarted."""


@dataclass(frozen=True)
class ServedSimulator:
    """What a rollout worker holds of one simulator server: its name for the usage counts, its
    address if known (None: ask), and its actor, to ask where it listens (again after a restart)."""

    name: str
    url: str | None
    actor: object

    def resolver(self) -> Resolver:
        actor = self.actor

        async def resolve() -> str:
            """Ray holds the call while it restarts the actor; it gives up once the restarts are
            used (ActorDiedError)."""
            from ray.exceptions import ActorDiedError, ActorUnavailableError

            try:
                return await actor.url.remote()  # type: ignore[attr-defined]
            except ActorDiedError:
                raise ServerGone(f"simulator {self.name} died and Ray will not restart it") from None
            except ActorUnavailableError as exc:
                raise RuntimeError(f"simulator {self.name} is restarting: {exc}") from None

        return resolve


class NoServerReady(RuntimeError):
    """Every route is waiting for its server to come back (a transient state: retried)."""


@dataclass
class Route:
    name: str
    """`server_<i>` for a served route; the usage counts go by it."""
    url: str | None
    resolve: Resolver | None = None
    """None: a fixed endpoint, retried as it is."""
    outstanding: int = 0
    stale: bool = False
    gone: bool = False
    refreshes: int = 0
    """Times this route came back at a new address (its server restarted)."""
    _refresh: asyncio.Task | None = field(default=None, repr=False)

    @property
    def ready(self) -> bool:
        return self.url is not None and not self.stale and not self.gone


@dataclass(frozen=True)
class Dialogue:
    """What the routing knows of one dialogue: `key` ranks the servers and is shared by a group's
    dialogues; `id` is this dialogue's alone, so a group mate answered elsewhere is not counted
    as this dialogue moving."""

    key: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def of_user(cls, seed: int, scenario_id: str) -> Dialogue:
        """A dialogue with the user `seed` plays in `scenario_id`: a group's members share both."""
        return cls(key=f"{seed}/{scenario_id}")


Routing = Literal["sticky", "least_loaded"]
DIALOGUES_KEPT = 4096
"""Dialogues whose last server is remembered: far more than one worker plays at once."""


def rank(key: str, name: str) -> int:
    """A route's place in a dialogue key's preference order (highest first): a hash, the same in
    every process, unlike Python's salted `hash`."""
    return int.from_bytes(hashlib.blake2b(f"{key}\0{name}".encode(), digest_size=8).digest(), "big")


class Routes:
    def __init__(self, routes: list[Route], resolve_timeout_s: float, routing: Routing = "sticky", load_factor: float = 1.25):
        if not routes:
            raise ValueError("an llm simulator needs at least one route (an endpoint or a served simulator)")
        if load_factor < 1:
            raise ValueError(f"a load factor under 1 ({load_factor}) leaves no server under its bound")
        self.routes = routes
        self.resolve_timeout_s = resolve_timeout_s
        self.routing = routing
        self.load_factor = load_factor
        self._addresses_asked = False
        self._last: OrderedDict[str, str] = OrderedDict()
        """The server of each recent dialogue's last answered request (the newest DIALOGUES_KEPT)."""

    def pick(self, dialogue: Dialogue | None = None) -> Route | None:
        """The route for a request of `dialogue` (None: no dialogue to keep together), starting
        the refresh of every stale route that has none running in this event loop."""
        for route in self.routes:
            if (route.stale or route.url is None) and not route.gone:
                self._start_refresh(route)
        ready = [r for r in self.routes if r.ready]
        if not ready:
            return None
        if self.routing == "least_loaded" or dialogue is None:
            return min(ready, key=lambda r: r.outstanding)
        bound = math.ceil(self.load_factor * (sum(r.outstanding for r in ready) + 1) / len(ready))
        preferred = sorted(self.routes, key=lambda r: rank(dialogue.key, r.name), reverse=True)
        last = self._last.get(dialogue.id)
        preferred.sort(key=lambda r: r.name != last)  # stable: where it was answered last, then its key's order
        return next(r for r in preferred if r.ready and r.outstanding < bound)

    def answered(self, dialogue: Dialogue | None, route: Route) -> bool:
        """Note that `route` answered a request of `dialogue`; whether the dialogue's previous
        request went to another server (its prompt then found none of the dialogue cached)."""
        if dialogue is None:
            return False
        previous = self._last.pop(dialogue.id, None)
        self._last[dialogue.id] = route.name
        if len(self._last) > DIALOGUES_KEPT:
            self._last.popitem(last=False)
        return previous is not None and previous != route.name

    async def acquire(self, dialogue: Dialogue | None = None) -> Route:
        """A route to send a request on (`pick`), else the first stale one to come back within
        the resolve timeout (NoServerReady if none does). The first requests wait until every
        server's address is known (or the timeout passes): placed on whichever answered first,
        sticky dialogues would stay there."""
        if not self._addresses_asked:
            await self._ask_every_address()
        route = self.pick(dialogue)
        if route is not None:
            return route
        if all(r.gone for r in self.routes):
            raise ServerGone(f"every simulator server is gone for good: {', '.join(r.name for r in self.routes)}")
        waiting = [r._refresh for r in self.routes if r._refresh is not None and not r._refresh.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=self.resolve_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        route = self.pick(dialogue)
        if route is None:
            raise NoServerReady(
                f"no simulator server answered within {self.resolve_timeout_s:g} s: "
                + ", ".join(f"{r.name} ({'gone' if r.gone else 'restarting'})" for r in self.routes)
            )
        return route

    async def _ask_every_address(self) -> None:
        for route in self.routes:
            if route.url is None and not route.gone:
                self._start_refresh(route)
        asking = [r._refresh for r in self.routes if r._refresh is not None and not r._refresh.done()]
        if asking:
            await asyncio.wait(asking, timeout=self.resolve_timeout_s)
        self._addresses_asked = True

    def failed(self, route: Route) -> None:
        """A request on `route` failed in transit: a served route asks its server again before
        it takes more; a fixed endpoint is simply retried."""
        if route.resolve is not None and not route.gone:
            route.stale = True
            self._start_refresh(route)

    def _start_refresh(self, route: Route) -> None:
        if route.resolve is None:
            return
        task = route._refresh
        loop = asyncio.get_running_loop()
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        route._refresh = loop.create_task(self._refreshed(route))

    async def _refreshed(self, route: Route) -> None:
        assert route.resolve is not None
        try:
            url = await asyncio.wait_for(route.resolve(), self.resolve_timeout_s)
        except ServerGone:
            route.gone = True
            return
        except (TimeoutError, OSError, RuntimeError):
            return  # still restarting: the next pick starts another refresh
        if route.url is not None and url != route.url:
            route.refreshes += 1
        route.url, route.stale = url, False
