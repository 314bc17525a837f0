"""No secret leaves the process except in the request that needs it.

The real proxy on loopback, logging at -v 9 in text and JSON, is driven down
every error path that handles a secret; every log line, response body and
response header is searched for each secret. Redirects go to a recording
server that must receive nothing.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
import yaml
from aiohttp import web

from proxy.config import CredentialConfig, SecurityConfig
from proxy.ops.health import HealthChecks
from proxy.serving.app import RELOADER
from proxy.serving.run import configure_logging
from proxy.testing.pki import build_server_ssl_context
from tests.integration.conftest import StartProxy

ADMIN_SECRET = "kc-admin-secret-0001"  # the proxy's own token: only the API server may see it
CALLER_SECRET = "caller-secret-0002"
REFRESH_SECRET = "rt-secret-refresh-0003"
CLIENT_SECRET = "cs-secret-client-0004"
QUERY_SECRET = "q-secret-0005"
USERINFO_SECRET = "userinfo-secret-0007"

# An exec plugin's stderr, one credential shape per line, with the secret of each line.
PLUGIN_STDERR = {
    "plugin: contacting the identity provider": None,
    "token: s3cr3t-t0k3n-0003": "s3cr3t-t0k3n-0003",
    '{"token":"ya29.short"}': "ya29.short",
    '{"access_token": "ya29.access-06", "expires_in": 3599}': "ya29.access-06",
    "password=hunter2-pw07": "hunter2-pw07",
    "Authorization: Bearer brr-bearer-08": "brr-bearer-08",
    'client_secret: "cs value 09"': "cs value 09",
    "aws_session_token=IQoJb3JpZ2luX2VjE10": "IQoJb3JpZ2luX2VjE10",
    "fetching https://alice:url-pass-11@idp.example/token": "url-pass-11",
    "revoked eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlMTI": "eyJzdWIiOiJhbGljZSJ9",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEApemBody13\n-----END RSA PRIVATE KEY-----":
        "MIIEpAIBAAKCAQEApemBody13",
    "opaque 9f8e7d6c5b4a3928170614 rejected": "9f8e7d6c5b4a3928170614",
}
PLUGIN_SECRETS = tuple(s for s in PLUGIN_STDERR.values() if s is not None)


@dataclass(frozen=True)
class Received:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.json_response({"kind": "Status", "status": "Success"})


@dataclass
class Stub:
    """A loopback HTTP(S) server that records everything it receives and answers as told."""

    answer: Answer = _ok
    ssl_context: Any = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs,
                                      dict(request.headers), body))
        return await self.answer(request)

    async def __aenter__(self) -> Stub:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@dataclass
class ProxyLog:
    log_format: str
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture(params=["text", "json"])
def proxy_log(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[ProxyLog]:
    """The proxy's own logging set-up at -v 9, writing to a buffer; restored afterwards."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {name: logging.getLogger(name).level for name in ("proxy.access", "aiohttp.server")}
    configure_logging(9, log_format=request.param, access_log=True)
    yield ProxyLog(request.param, stream)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in named.items():
        logging.getLogger(name).setLevel(saved)


@dataclass(frozen=True)
class Seen:
    """One response as a client saw it: everything a secret could hide in."""

    status: int
    headers: str
    body: str


async def fetch(client: aiohttp.ClientSession, url: str, **kwargs: Any) -> Seen:
    async with client.get(url, **kwargs) as response:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        return Seen(response.status, headers, await response.text())


def assert_nowhere(secrets: tuple[str, ...], log: ProxyLog, *seen: Seen) -> None:
    texts = {"log": log.text} | {f"response {n} {part}": getattr(s, part)
                                 for n, s in enumerate(seen) for part in ("headers", "body")}
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, f"{secret!r} leaked into the {where}"
    if log.log_format == "json":
        for line in log.text.splitlines():
            json.loads(line)  # masking never breaks a JSON line


def write_kubeconfig(path: Path, *, server: str, user: dict[str, Any]) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    os.chmod(path, 0o600)
    return path


def write_plugin(folder: Path, *, stdout: str = "", stderr: str = "", code: int = 0) -> Path:
    """An exec credential plugin named `aws` that prints what it is told and exits."""
    path = folder / "aws"
    path.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({stdout!r})\n"
                    f"sys.stderr.write({stderr!r})\nsys.exit({code})\n")
    path.chmod(0o755)
    return path


def exec_user(plugin: Path) -> dict[str, Any]:
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                     "interactiveMode": "Never"}}


@pytest.fixture
async def upstream() -> AsyncIterator[Stub]:
    """The API server: records what it is sent, answers 200 to everything."""
    async with Stub() as stub:
        yield stub


async def test_exec_plugin_stderr_reaches_only_the_log_masked(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path,
) -> None:
    plugin = write_plugin(tmp_path, stderr="\n".join(PLUGIN_STDERR) + "\n", code=1)
    proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                               user=exec_user(plugin)))
    answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
    readyz = await fetch(client, f"{proxy.url}/-/readyz?verbose")
    short = "exec plugin \"aws\" exited with code 1; see the proxy's log"
    assert answer.status == 502 and json.loads(answer.body)["message"] == short
    assert readyz.status == 500 and f"[-]credential failed: {short}\n" in readyz.body
    assert "contacting the identity provider" not in answer.body + readyz.body
    assert 'exec plugin \\"aws\\" exited with code 1' in log_text(proxy_log)
    assert "contacting the identity provider" in proxy_log.text
    assert "<redacted>" in proxy_log.text
    assert_nowhere(PLUGIN_SECRETS, proxy_log, answer, readyz)
    assert not upstream.received


def log_text(log: ProxyLog) -> str:
    """The log with JSON's escaping of quotes applied to text lines too, to match either."""
    return log.text if log.log_format == "json" else log.text.replace('"', '\\"')


@pytest.mark.parametrize(
    ("stdout", "secret"),
    [
        pytest.param("Open https://login.example/device and enter token: garbage-s3cret-01\n",
                     "garbage-s3cret-01", id="not JSON"),
        pytest.param(json.dumps({"kind": "ExecCredential", "apiVersion": "garbage-s3cret-02",
                                 "status": {"token": "t"}}), "garbage-s3cret-02",
                     id="a secret as apiVersion"),
        pytest.param(json.dumps({"kind": "ExecCredential",
                                 "apiVersion": "client.authentication.k8s.io/v1",
                                 "status": {"token": "garbage-s3cret-03",
                                            "expirationTimestamp": "garbage-s3cret-04"}}),
                     "garbage-s3cret-04", id="a secret as expirationTimestamp"),
    ],
)
async def test_exec_plugin_garbage_quoted_nowhere(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path, stdout: str, secret: str,
) -> None:
    plugin = write_plugin(tmp_path, stdout=stdout, stderr="password: garbage-s3cret-05\n")
    proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                               user=exec_user(plugin)))
    answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
    readyz = await fetch(client, f"{proxy.url}/-/readyz?verbose")
    assert answer.status == 502
    assert json.loads(answer.body)["message"].startswith('exec plugin "aws"')
    assert_nowhere((secret, "garbage-s3cret-03", "garbage-s3cret-05"), proxy_log, answer, readyz)


@dataclass
class Issuer:
    """An OIDC issuer over TLS whose token endpoint answers as a test needs."""

    ca: trustme.CA
    token: Answer
    discovery: Answer | None = None
    stub: Stub | None = None

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        assert self.stub is not None
        if request.path == "/.well-known/openid-configuration":
            if self.discovery is not None:
                return await self.discovery(request)
            return web.json_response({"issuer": self.stub.url,
                                      "token_endpoint": f"{self.stub.url}/token?tenant="
                                                        f"{QUERY_SECRET}"})
        return await self.token(request)

    async def __aenter__(self) -> Issuer:
        self.stub = await Stub(self._answer, build_server_ssl_context(
            self.ca, hostnames=("127.0.0.1",))).__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.stub is not None
        await self.stub.__aexit__()

    @property
    def url(self) -> str:
        assert self.stub is not None
        return self.stub.url


def jwt(claims: dict[str, Any]) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'alg': 'none'})}.{segment(claims)}.sig"


EXPIRED_ID_TOKEN = jwt({"sub": "alice", "exp": 1_000_000})


def oidc_user(issuer: Issuer) -> dict[str, Any]:
    return {"auth-provider": {"name": "oidc", "config": {
        "idp-issuer-url": issuer.url,
        "client-id": "kube-auth-proxy",
        "client-secret": CLIENT_SECRET,
        "id-token": EXPIRED_ID_TOKEN,
        "refresh-token": REFRESH_SECRET,
        "idp-certificate-authority-data": base64.b64encode(
            issuer.ca.cert_pem.bytes()).decode(),
    }}}


OIDC_SECRETS = (REFRESH_SECRET, CLIENT_SECRET, QUERY_SECRET, EXPIRED_ID_TOKEN)


@pytest.mark.parametrize("redirected", ["token endpoint", "discovery"])
@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_oidc_redirect_not_followed(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path, redirected: str, scheme: str,
) -> None:
    ca = trustme.CA()
    tls = build_server_ssl_context(ca, hostnames=("127.0.0.1",)) if scheme == "https" else None
    async with Stub(ssl_context=tls) as elsewhere:

        async def redirect(request: web.Request) -> web.StreamResponse:
            raise web.HTTPTemporaryRedirect(f"{elsewhere.url}/collect")

        async with Issuer(ca, token=redirect,
                          discovery=redirect if redirected == "discovery" else None) as issuer:
            proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                                       user=oidc_user(issuer)))
            answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
            readyz = await fetch(client, f"{proxy.url}/-/readyz?verbose")
    assert elsewhere.received == [], "the redirect was followed"
    assert answer.status == 502
    message = json.loads(answer.body)["message"]
    path = "/token" if redirected == "token endpoint" else "/.well-known/openid-configuration"
    assert f"{issuer.url}{path} answered a redirect (307)" in message
    assert_nowhere(OIDC_SECRETS, proxy_log, answer, readyz)
    assert not upstream.received


async def test_oidc_refusal_quotes_nothing_the_issuer_said(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path,
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        return web.json_response(
            {"error": "invalid_grant",
             "error_description": f"refresh_token {form['refresh_token']} revoked"},
            status=400, reason=f"Bad {form['refresh_token']} {form['client_secret']}")

    async with Issuer(trustme.CA(), token=refuse) as issuer:
        proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                                   user=oidc_user(issuer)))
        answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
        readyz = await fetch(client, f"{proxy.url}/-/readyz?verbose")
    assert answer.status == 502
    assert "OIDC token endpoint answered 400 (invalid_grant)" in answer.body
    assert_nowhere(OIDC_SECRETS, proxy_log, answer, readyz)


async def test_oidc_write_back_failure_names_file_and_field_only(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path,
) -> None:
    new_id_token = jwt({"sub": "alice", "exp": int(time.time()) + 3600})

    async def grant(request: web.Request) -> web.StreamResponse:
        return web.json_response({"id_token": new_id_token, "refresh_token": "rt-new-0006"})

    async with Issuer(trustme.CA(), token=grant) as issuer:
        kubeconfig = write_kubeconfig(tmp_path / "k", server=upstream.url,
                                      user=oidc_user(issuer))
        proxy = await start_proxy(kubeconfig)
        # An unterminated quote on the refresh-token line: PyYAML's message would quote it.
        kubeconfig.write_text(kubeconfig.read_text().replace(
            f"refresh-token: {REFRESH_SECRET}", f'refresh-token: "{REFRESH_SECRET}'))
        assert proxy.app is not None
        assert not await proxy.app[RELOADER].reload("the kubeconfig changed")
        answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
    assert answer.status == 200
    assert upstream.received[-1].headers["Authorization"] == f"Bearer {new_id_token}"
    assert f"not saved to {kubeconfig}" in proxy_log.text
    assert "users[name=u].user.auth-provider.config" in proxy_log.text
    assert_nowhere((*OIDC_SECRETS, new_id_token, "rt-new-0006"), proxy_log, answer)


async def _status(code: int, message: str) -> web.StreamResponse:
    return web.json_response({"kind": "Status", "code": code, "message": message}, status=code)


@pytest.mark.parametrize("failure", ["refused", "redirected"])
async def test_token_request_failure_quotes_no_secret(
    start_proxy: StartProxy, client: aiohttp.ClientSession, proxy_log: ProxyLog,
    tmp_path: Path, failure: str,
) -> None:
    async with Stub() as elsewhere:

        async def api(request: web.Request) -> web.StreamResponse:
            if failure == "redirected":
                raise web.HTTPTemporaryRedirect(f"{elsewhere.url}/collect")
            return await _status(403, f"denied: token={ADMIN_SECRET} "
                                      f'{{"password": "{QUERY_SECRET}"}} {ADMIN_SECRET} bare')

        async with Stub(api) as apiserver:
            proxy = await start_proxy(
                write_kubeconfig(tmp_path / "k", server=apiserver.url,
                                 user={"token": ADMIN_SECRET}),
                credentials=CredentialConfig(token_request="default/robot"),
            )
            answer = await fetch(client, f"{proxy.url}/api/v1/namespaces")
    assert answer.status == 502
    assert "TokenRequest for service account default/robot" in answer.body
    assert elsewhere.received == []
    # The one request that needs the proxy's own token: the TokenRequest itself.
    assert [r.headers["Authorization"] for r in apiserver.received] == [f"Bearer {ADMIN_SECRET}"]
    assert_nowhere((ADMIN_SECRET, QUERY_SECRET), proxy_log, answer)


@pytest.mark.parametrize("review", ["tokenreviews", "subjectaccessreviews"])
async def test_review_redirect_not_followed(
    start_proxy: StartProxy, client: aiohttp.ClientSession, proxy_log: ProxyLog,
    tmp_path: Path, review: str,
) -> None:
    async with Stub() as elsewhere:

        async def api(request: web.Request) -> web.StreamResponse:
            if request.path.endswith(review):
                raise web.HTTPTemporaryRedirect(f"{elsewhere.url}/collect")
            return web.json_response({"status": {"authenticated": True, "allowed": True,
                                                 "user": {"username": "caller"}}}, status=201)

        async with Stub(api) as apiserver:
            proxy = await start_proxy(
                write_kubeconfig(tmp_path / "k", server=apiserver.url,
                                 user={"token": ADMIN_SECRET}),
                security=SecurityConfig(authn="tokenreview", authz="subjectaccessreview"),
            )
            answer = await fetch(client, f"{proxy.url}/api/v1/namespaces",
                                 headers={"Authorization": f"Bearer {CALLER_SECRET}"})
    assert answer.status >= 500
    assert elsewhere.received == []
    assert_nowhere((ADMIN_SECRET, CALLER_SECRET), proxy_log, answer)


async def test_handler_exception_traceback_masked(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def explode(self: HealthChecks) -> None:
        try:
            raise ConnectionError(f'upstream said {{"client_secret": "{CLIENT_SECRET}"}}')
        except ConnectionError as exc:
            raise RuntimeError(f"password: {REFRESH_SECRET} Basic "
                               f"{base64.b64encode(CALLER_SECRET.encode()).decode()}") from exc

    monkeypatch.setattr(HealthChecks, "_check", explode)
    proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                               user={"token": ADMIN_SECRET}))
    answer = await fetch(client, f"{proxy.url}/-/readyz?verbose")
    assert answer.status == 500
    assert "Traceback" in proxy_log.text and "RuntimeError" in proxy_log.text
    encoded = base64.b64encode(CALLER_SECRET.encode()).decode()
    assert_nowhere((CLIENT_SECRET, REFRESH_SECRET, encoded, ADMIN_SECRET), proxy_log, answer)
    # Masked as the record is made: any other handler (here pytest's capture) sees no secret.
    assert "RuntimeError" in caplog.text
    for secret in (CLIENT_SECRET, REFRESH_SECRET, encoded):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("offered", "forwarded"),
    [
        pytest.param("base64url.bearer.authorization.k8s.io.{token}, v4.channel.k8s.io",
                     "v4.channel.k8s.io", id="other subprotocols kept"),
        pytest.param("base64url.bearer.authorization.k8s.io.{token}", None,
                     id="header dropped when only the token was offered"),
    ],
)
async def test_bearer_subprotocol_never_forwarded(
    start_proxy: StartProxy, client: aiohttp.ClientSession, upstream: Stub,
    proxy_log: ProxyLog, tmp_path: Path, offered: str, forwarded: str | None,
) -> None:
    token = base64.urlsafe_b64encode(CALLER_SECRET.encode()).decode().rstrip("=")
    proxy = await start_proxy(write_kubeconfig(tmp_path / "k", server=upstream.url,
                                               user={"token": ADMIN_SECRET}))
    answer = await fetch(client, f"{proxy.url}/api/v1/namespaces",
                         headers={"Sec-WebSocket-Protocol": offered.format(token=token)})
    assert answer.status == 200
    sent = upstream.received[-1].headers
    assert sent.get("Sec-WebSocket-Protocol") == forwarded
    assert token not in json.dumps(sent)
    assert_nowhere((token, CALLER_SECRET, ADMIN_SECRET), proxy_log, answer)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_proxy_process_logs_hold_no_secret(
    upstream: Stub, tmp_path: Path, log_format: str
) -> None:
    """`python -m proxy -v 9 --log-format ...`: the flags' own wiring, as deployed."""
    plugin = write_plugin(tmp_path, stderr="\n".join(PLUGIN_STDERR) + "\n", code=1)
    server = upstream.url.replace("://", f"://admin:{USERINFO_SECRET}@")
    kubeconfig = write_kubeconfig(tmp_path / "k", server=server, user=exec_user(plugin))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--port", "0", "--kubeconfig", str(kubeconfig),
        "-v", "9", "--log-format", log_format,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        address = banner.split("Starting to serve on ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as client:
            seen = [
                await fetch(client, f"http://{address}/api/v1/namespaces?token={QUERY_SECRET}",
                            headers={"Authorization": f"Bearer {CALLER_SECRET}"}),
                await fetch(client, f"http://{address}/-/readyz?verbose"),
            ]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    log = ProxyLog(log_format, io.StringIO((await process.stderr.read()).decode()))
    assert seen[0].status == 502
    assert "exited with code 1" in log.text and "<redacted>" in log.text
    assert USERINFO_SECRET not in banner
    assert_nowhere((*PLUGIN_SECRETS, QUERY_SECRET, CALLER_SECRET, USERINFO_SECRET), log, *seen)


async def test_start_up_error_masks_the_kubeconfig_it_quotes(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "k", server=f"ftp://admin:{USERINFO_SECRET}@host",
                                  user={"token": ADMIN_SECRET})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--port", "0", "--kubeconfig", str(kubeconfig),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "not an http(s) URL" in err.decode()
    for secret in (USERINFO_SECRET, ADMIN_SECRET):
        assert secret.encode() not in out + err
