"""The stand-in API server for REST: nginx over TLS with a self-made CA, bearer token required.

nginx runs as the current user from a temporary prefix (`-p`, `-c`, `daemon off`),
listens on 127.0.0.1 only, and serves fixed bodies at API-looking paths. It offers
HTTP/2 beside HTTP/1.1 as a kube-apiserver does, so kubectl proxy talks to it as it
would to a real cluster (Go negotiates h2; aiohttp speaks HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import trustme

from bench.children import Child, ChildError, spawn, stop

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SMALL_PATH = "/api/v1/namespaces/bench/configmaps/small"
LIST_PATH = "/api/v1/namespaces/bench/configmaps"
LARGE_PATH = "/api/v1/namespaces/bench/configmaps/large"
SMALL_BYTES = 1024
LIST_BYTES = 1024 * 1024
LARGE_BYTES = 50 * 1024 * 1024
READY_TIMEOUT_SECONDS = 10.0
NGINX_FDS = 20_000
H2_STREAMS_PER_CONNECTION = 100  # the kube-apiserver's default (--http2-max-streams-per-connection)
HELD_SECONDS = 3600  # a held watch is not idle: nginx must not time it out during a run


@dataclass(frozen=True)
class Credentials:
    """The CA every upstream's certificate chains to, and the one accepted bearer token."""

    ca: trustme.CA
    token: str
    folder: Path

    @classmethod
    def create(cls, folder: Path) -> Credentials:
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        leaf.private_key_pem.write_to_path(str(folder / "server.key"))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        return cls(ca=ca, token=secrets.token_urlsafe(24), folder=folder)

    @property
    def cert_file(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key_file(self) -> Path:
        return self.folder / "server.key"

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _object(name: str, payload_bytes: int) -> dict[str, object]:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "bench", "resourceVersion": "1"},
        "data": {"payload": "x" * payload_bytes},
    }


def _sized(document: dict[str, object], size: int, pad: str) -> bytes:
    """JSON of exactly `size` bytes, padding the string at `pad` (a dotted path)."""
    body = json.dumps(document, separators=(",", ":")).encode()
    holder: dict[str, object] = document
    *parents, leaf = pad.split(".")
    for key in parents:
        holder = holder[key]  # type: ignore[assignment]
    current = holder[leaf]
    assert isinstance(current, str)
    holder[leaf] = current + "x" * (size - len(body))
    return json.dumps(document, separators=(",", ":")).encode()


def write_bodies(folder: Path) -> dict[str, Path]:
    small = folder / "small.json"
    small.write_bytes(_sized(_object("small", 0), SMALL_BYTES, "data.payload"))
    items = [_object(f"item-{i}", 900) for i in range(LIST_BYTES // 1000)]
    listing: dict[str, object] = {
        "kind": "ConfigMapList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1", "continue": ""},
        "items": items,
    }
    lst = folder / "list.json"
    lst.write_bytes(_sized(listing, LIST_BYTES, "metadata.continue"))
    large = folder / "large.bin"
    with large.open("wb") as stream:
        block = b"k" * (1024 * 1024)
        for _ in range(LARGE_BYTES // len(block)):
            stream.write(block)
    return {SMALL_PATH: small, LIST_PATH: lst, LARGE_PATH: large}


def _main_conf(*, folder: Path, workers: int, http: str) -> str:
    """What both nginx instances share: runs as us from `folder`, logs there, many fds."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    temp = " ".join(
        f"{kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{"user " + user + ";" if os.geteuid() == 0 else ""}
worker_processes {workers};
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
worker_rlimit_nofile {NGINX_FDS};
events {{ worker_connections {NGINX_FDS - 1000}; }}
http {{
  access_log off;
  {temp}
  default_type application/json;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  http2_max_requests 10000000;
{http}
}}
"""


def _tls(port: int, credentials: Credentials, *, http2: bool, reuseport: bool = False) -> str:
    flags = " http2" if http2 else ""
    flags += " reuseport" if reuseport else ""
    return f"""
    listen 127.0.0.1:{port} ssl{flags};
    ssl_certificate {credentials.cert_file};
    ssl_certificate_key {credentials.key_file};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench{port}:10m;"""


def nginx_conf(
    *, folder: Path, port: int, credentials: Credentials, bodies: dict[str, Path], http2: bool
) -> str:
    locations = "\n".join(
        f"    location = {path} {{ alias {file}; }}" for path, file in bodies.items()
    )
    server = f"""
  sendfile on;
  server {{{_tls(port, credentials, http2=http2)}
    if ($http_authorization != "{credentials.authorization}") {{ return 401; }}
{locations}
  }}"""
    return _main_conf(folder=folder, workers=1, http=server)


def watch_nginx_conf(
    *, folder: Path, port: int, credentials: Credentials, events_socket: Path, http2: bool
) -> str:
    """TLS (and h2 with 100 streams per connection, as a kube-apiserver) before the events.

    Each stream becomes its own unbuffered HTTP/1.1 request to the event server on a
    unix socket, so events pass at once and the TCP connections on `port` are exactly
    the ones an API server would count. Two workers share the port (reuseport): one
    would run out of descriptors at 10,000 HTTP/1.1 watches (two each) under this
    machine's hard limit of 20,000.
    """
    server = f"""
  upstream events {{ server unix:{events_socket}; keepalive 64; }}
  server {{{_tls(port, credentials, http2=http2, reuseport=True)}
    http2_max_concurrent_streams {H2_STREAMS_PER_CONNECTION};
    location / {{
      proxy_pass http://events;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout {HELD_SECONDS}s;
      proxy_send_timeout {HELD_SECONDS}s;
      send_timeout {HELD_SECONDS}s;
    }}
  }}"""
    return _main_conf(folder=folder, workers=2, http=server)


@dataclass
class Nginx:
    child: Child
    port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


async def start_nginx(folder: Path, credentials: Credentials, *, http2: bool = True) -> Nginx:
    """Write the bodies and the config, start nginx, return once its port accepts."""
    prefix = folder / "nginx"
    prefix.mkdir()
    bodies = write_bodies(prefix)
    port = free_port()
    conf = nginx_conf(folder=prefix, port=port, credentials=credentials, bodies=bodies, http2=http2)
    return await _run_nginx("nginx", prefix, port, conf)


async def start_watch_nginx(
    folder: Path, credentials: Credentials, *, events_socket: Path, http2: bool = True
) -> Nginx:
    """The watch upstream's front: TLS (and h2) on a port, the event server behind it."""
    prefix = folder / "watch-nginx"
    prefix.mkdir()
    port = free_port()
    conf = watch_nginx_conf(
        folder=prefix, port=port, credentials=credentials, events_socket=events_socket, http2=http2
    )
    return await _run_nginx("watch-nginx", prefix, port, conf)


async def _run_nginx(name: str, prefix: Path, port: int, conf_text: str) -> Nginx:
    conf = prefix / "nginx.conf"
    conf.write_text(conf_text)
    child = await spawn(name, [NGINX, "-p", str(prefix), "-c", str(conf)], log_dir=prefix.parent)
    try:
        await wait_for_port(child, port, prefix / "nginx-error.log")
    except BaseException:
        await stop(child)
        raise
    return Nginx(child=child, port=port)


async def wait_for_port(child: Child, port: int, error_log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and child.process.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise ChildError(
        f"{child.name} did not listen on 127.0.0.1:{port}:\n{child.log_tail()}{_tail(error_log)}"
    )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""
