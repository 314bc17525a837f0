"""The auth policy over an in-memory transport: the credential last, a 401 retried once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.credentials.base import Credential
from proxy.identity import ACTING_FOR, Identity
from proxy.upstream.auth import AuthPolicy
from proxy.upstream.memory_transport import Answer, MemoryTransport
from proxy.upstream.transport import Dialed, RequestHead, ResponseHead

KUBECONFIG_AS = (("Impersonate-User", "deployer"),)


class RotatingSource:
    """Hands out token-1, then token-2 once token-1 is invalidated (as a token file re-read)."""

    kind = "rotating"

    def __init__(self, *, rotates: bool = True) -> None:
        self.generation = 1
        self.invalidated: list[Credential] = []
        self._rotates = rotates

    async def credential(self) -> Credential:
        return Credential(authorization=f"Bearer token-{self.generation}")

    def invalidate(self, credential: Credential) -> None:
        self.invalidated.append(credential)
        if self._rotates:
            self.generation += 1


def refusing_the_first_token() -> MemoryTransport:
    async def answer(request: RequestHead, body: bytes | None) -> Answer:
        if request.headers["Authorization"] == "Bearer token-1":
            return Answer(status=401, pieces=[b'{"kind":"Status","code":401}'])
        return Answer(status=200, pieces=[b"ok"])

    return MemoryTransport(answer)


def answering_ok() -> MemoryTransport:
    async def answer(request: RequestHead, body: bytes | None) -> Answer:
        return Answer(status=200, pieces=[b"ok"])

    return MemoryTransport(answer)


def client_headers() -> CIMultiDict[str]:
    return CIMultiDict([("Accept", "application/json"), ("X-Trace", "1")])


async def test_401_without_body_invalidates_and_retries_once_with_the_new_credential() -> None:
    source, transport = RotatingSource(), refusing_the_first_token()
    response = await AuthPolicy(source).send(
        transport, "GET", "/api/v1/pods", headers=client_headers()
    )
    assert response.head.status == 200
    assert [s.request.headers["Authorization"] for s in transport.sent] == [
        "Bearer token-1", "Bearer token-2"
    ]
    assert source.invalidated == [Credential(authorization="Bearer token-1")]
    assert transport.bodies[0].closed, "the refused answer is let go before the retry"


async def test_401_with_body_invalidates_and_is_not_retried() -> None:
    source, transport = RotatingSource(), refusing_the_first_token()
    response = await AuthPolicy(source).send(
        transport, "POST", "/api/v1/namespaces/default/configmaps",
        headers=client_headers(), body=b'{"kind":"ConfigMap"}',
    )
    assert response.head.status == 401, "a body cannot be replayed: the client gets the 401"
    assert len(transport.sent) == 1
    assert source.invalidated == [Credential(authorization="Bearer token-1")]


async def test_401_is_not_retried_when_the_source_has_nothing_new() -> None:
    source, transport = RotatingSource(rotates=False), refusing_the_first_token()
    response = await AuthPolicy(source).send(transport, "GET", "/api", headers=client_headers())
    assert response.head.status == 401
    assert len(transport.sent) == 1


async def test_second_401_is_answered_not_retried_again() -> None:
    source = RotatingSource()

    async def always_401(request: RequestHead, body: bytes | None) -> Answer:
        return Answer(status=401)

    transport = MemoryTransport(always_401)
    response = await AuthPolicy(source).send(transport, "GET", "/api", headers=client_headers())
    assert response.head.status == 401
    assert len(transport.sent) == 2


async def test_credential_injected_last_after_the_clients_headers() -> None:
    transport = answering_ok()
    policy = AuthPolicy(RotatingSource(), identity_headers=KUBECONFIG_AS)
    await policy.send(transport, "GET", "/api", headers=client_headers())
    assert list(transport.sent[0].request.headers.items()) == [
        ("Accept", "application/json"),
        ("X-Trace", "1"),
        ("Impersonate-User", "deployer"),
        ("Authorization", "Bearer token-1"),
    ]


@pytest.mark.parametrize(
    "authorization",
    [pytest.param("Bearer token-1", id="bearer credential replaces it"),
     pytest.param(None, id="certificate-only credential drops it")],
)
async def test_clients_authorization_never_survives(authorization: str | None) -> None:
    class Source(RotatingSource):
        async def credential(self) -> Credential:
            return Credential(authorization=authorization)

    transport = answering_ok()
    headers = CIMultiDict([("authorization", "Bearer client-token"),
                           ("AUTHORIZATION", "Basic Y2xpZW50")])
    await AuthPolicy(Source()).send(transport, "GET", "/api", headers=headers)
    sent = transport.sent[0].request.headers
    assert sent.getall("Authorization", []) == ([authorization] if authorization else [])


async def test_the_callers_impersonation_replaces_the_kubeconfigs() -> None:
    transport = answering_ok()
    policy = AuthPolicy(RotatingSource(), identity_headers=KUBECONFIG_AS)
    token = ACTING_FOR.set(Identity(user="alice", groups=("dev",)))
    try:
        await policy.send(transport, "GET", "/api", headers=CIMultiDict())
        await policy.send(transport, "GET", "/version", headers=CIMultiDict(), for_caller=False)
    finally:
        ACTING_FOR.reset(token)
    forwarded, own_call = (sent.request.headers for sent in transport.sent)
    assert forwarded.getall("Impersonate-User") == ["alice"]
    assert forwarded.getall("Impersonate-Group") == ["dev"]
    assert own_call.getall("Impersonate-User") == ["deployer"], "the proxy's own call"


async def test_the_inbound_headers_are_not_changed() -> None:
    headers = client_headers()
    await AuthPolicy(RotatingSource(), identity_headers=KUBECONFIG_AS).send(
        answering_ok(), "GET", "/api", headers=headers
    )
    assert list(headers.items()) == list(client_headers().items())


class RecordingDialer:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[RequestHead] = []

    @contextlib.asynccontextmanager
    async def dial(self, request: RequestHead, body: bytes) -> AsyncIterator[Dialed]:
        self.requests.append(request)
        head = ResponseHead(status=self.status, reason="", headers=CIMultiDictProxy(CIMultiDict()))
        yield Dialed(head=head, reader=asyncio.StreamReader(), writer=None)  # type: ignore[arg-type]


async def test_upgrade_401_invalidates_without_retrying() -> None:
    source, dialer = RotatingSource(), RecordingDialer(401)
    async with AuthPolicy(source).dial(
        dialer, "POST", "/api/v1/namespaces/default/pods/p/exec", headers=client_headers(),
        body=b"",
    ) as dialed:
        assert dialed.head.status == 401
    assert [r.headers["Authorization"] for r in dialer.requests] == ["Bearer token-1"]
    assert source.invalidated == [Credential(authorization="Bearer token-1")]
