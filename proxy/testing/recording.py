"""The log of every request the fake received, for tests to assert on what a proxy sent."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived: the raw path (undecoded), headers, and who it was."""

    method: str
    raw_path: str
    headers: CIMultiDictProxy[str]
    user: str | None  # the authenticated user; None when answered 401

    @classmethod
    def of(cls, request: web.Request, *, user: str | None) -> RecordedRequest:
        return cls(
            method=request.method,
            raw_path=request.raw_path,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            user=user,
        )
