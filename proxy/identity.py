"""Who is calling: the identity incoming authentication established for a request."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Identity:
    """An authenticated caller, as a TokenReview or a client certificate names it."""

    user: str
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


IDENTITY = web.RequestKey("identity", Identity)


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


# With --forward-as caller: the identity the current request acts for upstream. A context
# variable rather than a parameter, so that no path to the upstream (REST, watch,
# upgrade) can forget it and act with the proxy's own rights instead.
ACTING_FOR: ContextVar[Identity | None] = ContextVar("acting_for", default=None)
