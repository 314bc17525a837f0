"""The outbound seam's value objects: a request's head never shows its credential."""

from __future__ import annotations

from multidict import CIMultiDict

from proxy.upstream.memory_transport import Sent
from proxy.upstream.transport import RequestHead


def test_a_request_heads_repr_leaves_out_its_headers_and_so_the_credential() -> None:
    request = RequestHead(
        method="GET",
        target="/api",
        headers=CIMultiDict({"Authorization": "Bearer s3cret", "Impersonate-User": "alice"}),
        tls=None,
    )
    for shown in (repr(request), str(request), repr(Sent(request=request, body=None))):
        assert "s3cret" not in shown and "alice" not in shown
        assert "/api" in shown
