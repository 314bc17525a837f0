"""Upstream: the one way out to the API server, and the credential on every request.

    session.py            `Upstream`: one API server, the way every caller opens a request
    auth.py               `AuthPolicy`: the credential last; on a 401 invalidate, retry once
    transport.py          the `Transport` and `Dialer` protocols, with their contract
    choice.py             which transport carries REST, which watches (--upstream-protocol)
    http1_transport.py    the lean HTTP/1.1 `Transport`: keep-alive pool, llhttp parsing
    http1_connection.py   one HTTP/1.1 connection (asyncio Protocol) and its answer's body
    http1_pool.py         idle keep-alive connections, per TLS context
    http2_transport.py    the HTTP/2 `Transport` (h2): many streams over few connections
    http2_connection.py   one HTTP/2 connection: flow control, GOAWAY, PING
    http2_stream.py       one HTTP/2 stream as the answer's body
    h2_graceful.py        lets open streams finish after a GOAWAY (python-hyper/h2#1181)
    dialer.py             the `Dialer`: an upgrade's own HTTP/1.1 connection
    memory_transport.py   a `Transport` answering in memory, for tests
    endpoint.py           where the API server is (the kubeconfig's `server`)
    tls.py                the `SSLContext` per client certificate
    sockets.py            the socket options of every upstream connection
    failures.py           transport failures as `UpstreamError`s
    leases.py             who still uses a replaced upstream
    review_cache.py       TokenReview and SubjectAccessReview answers, cached
"""
