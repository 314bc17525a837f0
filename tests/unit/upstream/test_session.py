"""`Upstream` over an in-memory transport: leases, closing, and the proxy's own JSON calls."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from proxy.credentials.base import Credential
from proxy.errors import UpstreamUnreachableError
from proxy.identity import ACTING_FOR, Identity
from proxy.upstream.auth import AuthPolicy
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.memory_transport import Answer, MemoryTransport
from proxy.upstream.session import Upstream
from proxy.upstream.transport import RequestHead


class Token:
    kind = "token"

    def __init__(self, token: str) -> None:
        self._credential = Credential(authorization=f"Bearer {token}")

    async def credential(self) -> Credential:
        return self._credential

    def invalidate(self, credential: Credential) -> None:
        return None


def upstream_answering(
    answer: Answer, *, base_url: str = "https://api:6443"
) -> tuple[Upstream, MemoryTransport]:
    async def reply(request: RequestHead, body: bytes | None) -> Answer:
        return answer

    transport = MemoryTransport(reply)
    upstream = Upstream(
        endpoint=Endpoint(base_url),
        transport=transport,
        dialer=None,  # type: ignore[arg-type]  # no upgrade here
        auth=AuthPolicy(Token("forwarded"), identity_headers=(("Impersonate-User", "ops"),)),
    )
    return upstream, transport


async def test_open_holds_a_lease_and_closes_the_body_on_leaving() -> None:
    upstream, transport = upstream_answering(Answer(pieces=[b"a", b"b"]))
    async with upstream.open("GET", "/api", headers=CIMultiDict()) as response:
        assert upstream.in_flight.count == 1
        assert await response.body.read() == b"a"
    assert upstream.in_flight.count == 0
    assert transport.bodies[0].closed


async def test_open_sends_the_target_under_the_servers_path_prefix() -> None:
    upstream, transport = upstream_answering(Answer(), base_url="https://api:6443/prefix")
    async with upstream.open("GET", "/api/v1/pods?watch=1#fragment", headers=CIMultiDict()):
        pass
    assert transport.sent[0].request.target == "/prefix/api/v1/pods?watch=1"


async def test_closed_upstream_refuses_as_unreachable() -> None:
    upstream, transport = upstream_answering(Answer())
    await upstream.close()
    with pytest.raises(UpstreamUnreachableError, match="closed after a kubeconfig reload"):
        async with upstream.open("GET", "/api", headers=CIMultiDict()):
            pass
    assert transport.closed


async def test_request_json_acts_as_the_given_source_never_for_the_caller() -> None:
    answer = Answer(status=201, pieces=[b'{"status":', b' {"token": "t"}}'])
    upstream, transport = upstream_answering(answer)
    token = ACTING_FOR.set(Identity(user="alice"))
    try:
        status, document = await upstream.request_json(
            "POST", "/api/v1/namespaces/ns/serviceaccounts/sa/token", {"kind": "TokenRequest"},
            Token("identity"),
        )
    finally:
        ACTING_FOR.reset(token)
    assert (status, document) == (201, {"status": {"token": "t"}})
    sent = transport.sent[0]
    assert sent.request.headers["Authorization"] == "Bearer identity"
    assert sent.request.headers.getall("Impersonate-User") == ["ops"]
    assert json.loads(sent.body or b"") == {"kind": "TokenRequest"}
    assert upstream.in_flight.count == 0


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [pytest.param([b"not json"], None, id="not JSON is None"),
     pytest.param([b" \n"], None, id="an empty body is None")],
)
async def test_request_json_without_a_json_answer(pieces: list[bytes], expected: object) -> None:
    upstream, _ = upstream_answering(Answer(status=503, pieces=pieces))
    assert await upstream.request_json("GET", "/version", None, Token("t")) == (503, expected)
