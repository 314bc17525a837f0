"""kubectl proxy's filter as a pure predicate, including attempts to slip past it."""

from __future__ import annotations

import pytest

from proxy.config import FilterConfig, ServeConfig, split_patterns
from proxy.errors import ConfigError
from proxy.routing.filters import RequestFilter, clean_path, path_interpretations, request_host

DEFAULT = ServeConfig().filter
assert DEFAULT is not None
FILTER = RequestFilter.from_config(DEFAULT)

EXEC = "/api/v1/namespaces/default/pods/web/exec"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(EXEC, id="plain exec"),
        pytest.param("/api/v1/namespaces/default/pods/web/attach", id="plain attach"),
        pytest.param(EXEC + "?command=sh", id="exec with a query"),
        pytest.param("//api/v1/namespaces/default/pods/web/exec", id="double leading slash"),
        pytest.param("/api/v1/namespaces/default/pods//web/exec", id="double inner slash"),
        pytest.param("/./api/v1/namespaces/default/pods/web/exec", id="dot segment"),
        pytest.param("/x/../api/v1/namespaces/default/pods/web/exec", id="dot-dot segment"),
        pytest.param("/api/v1/namespaces/default/pods/web/%65xec", id="encoded letter"),
        pytest.param("/%61pi/v1/namespaces/default/pods/web/exec", id="encoded letter in api"),
        pytest.param("/api/v1/namespaces/default/pods/web%2Fexec", id="encoded slash"),
        pytest.param("/api/v1/namespaces/default/pods/web%2fexec", id="lowercase encoded slash"),
        pytest.param("/api/v1/namespaces/default/pods/web%252Fexec", id="double encoded slash"),
        pytest.param("%2Fapi/v1/namespaces/default/pods/web/exec", id="encoded leading slash"),
        pytest.param("/api/v1/namespaces/default/pods/web/%2e/exec", id="encoded dot segment"),
        pytest.param("/api/v1/namespaces/default/pods/web/exec/", id="trailing slash"),
    ],
)
def test_exec_and_attach_rejected_however_written(path: str) -> None:
    assert not FILTER.accepts("POST", path.partition("?")[0], "localhost")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/pods/web/log",
        "/apis/apps/v1/deployments",
        "/openapi/v3/apis/apps/v1",
        "/api/v1/namespaces/default/configmaps/a%2Fb",
        "/version",
    ],
)
def test_ordinary_paths_accepted(path: str) -> None:
    assert FILTER.accepts("GET", path, "localhost")


@pytest.mark.parametrize(
    ("host", "accepted"),
    [
        pytest.param("localhost", True, id="localhost"),
        pytest.param("127.0.0.1", True, id="ipv4 loopback"),
        pytest.param("[::1]", True, id="ipv6 loopback"),
        pytest.param("evil.example", False, id="another name (DNS rebinding)"),
        pytest.param("localhost.evil.example", False, id="prefix of another name"),
        pytest.param("", False, id="no host"),
    ],
)
def test_hosts(host: str, accepted: bool) -> None:
    assert FILTER.accepts("GET", "/api", host) is accepted


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8001", "localhost"),
        ("localhost", "localhost"),
        ("127.0.0.1:8001", "127.0.0.1"),
        ("[::1]:8001", "[::1]"),
        ("[::1]", "[::1]"),
        ("::1", None),
    ],
)
def test_request_host_keeps_ipv6_brackets(header: str, host: str | None) -> None:
    assert request_host(header) == host


def test_accept_paths_hold_for_every_interpretation() -> None:
    narrow = RequestFilter.from_config(
        FilterConfig(
            accept_hosts=(".*",),
            accept_paths=("^/api/v1/namespaces/default/",),
            reject_paths=(),
            reject_methods=(),
        )
    )
    assert narrow.accepts("GET", "/api/v1/namespaces/default/configmaps", "h")
    assert not narrow.accepts("GET", "/api/v1/namespaces/default/../kube-system/secrets", "h")
    assert not narrow.accepts("GET", "/api/v1/namespaces/default/%2e%2e/kube-system/secrets", "h")


def test_reject_methods() -> None:
    read_only = RequestFilter.from_config(
        FilterConfig(
            accept_hosts=(".*",),
            accept_paths=(".*",),
            reject_paths=(),
            reject_methods=split_patterns("^POST$,^PUT$,^PATCH$,^DELETE$"),
        )
    )
    assert read_only.accepts("GET", "/api", "h")
    assert not read_only.accepts("DELETE", "/api/v1/namespaces/x", "h")


def test_invalid_pattern_names_its_flag() -> None:
    with pytest.raises(ConfigError, match="--reject-paths"):
        RequestFilter.from_config(
            FilterConfig(accept_hosts=(), accept_paths=(), reject_paths=("(",), reject_methods=())
        )


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        ("/a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/x/../b", "/a/b"),
        ("//a", "/a"),
        ("/a/b/", "/a/b/"),
        ("/../a", "/a"),
    ],
)
def test_clean_path_like_go(path: str, cleaned: str) -> None:
    assert clean_path(path) == cleaned


def test_interpretations_include_decoded_and_cleaned() -> None:
    forms = path_interpretations("/a%2F..%2Fb")
    assert "/a/../b" in forms and "/b" in forms and "/a%2F..%2Fb" in forms


@pytest.mark.parametrize(
    ("header", "host"),
    [
        pytest.param("LOCALHOST:8001", "localhost", id="case folded"),
        pytest.param("[0:0:0:0:0:0:0:1]:8001", "[::1]", id="ipv6 compressed"),
        pytest.param("localhost:", "localhost", id="empty port"),
        pytest.param("[::1]evil", None, id="text after the ipv6 literal"),
        pytest.param("[::1].evil.com", None, id="name after the ipv6 literal"),
        pytest.param("[::1]:8001evil", None, id="text after the port"),
        pytest.param("[evil]", None, id="brackets around no address"),
        pytest.param("127.0.0.1@evil", None, id="userinfo"),
        pytest.param("evil@127.0.0.1", None, id="userinfo before loopback"),
        pytest.param("localhost.", None, id="trailing dot"),
        pytest.param("localhost.:8001", None, id="trailing dot with port"),
        pytest.param("localhost:99999", None, id="port out of range"),
        pytest.param("localhost:80:80", None, id="two ports"),
        pytest.param("localhost/evil", None, id="path"),
        pytest.param("local host", None, id="space"),
        pytest.param("", None, id="empty"),
    ],
)
def test_request_host_parses_exactly(header: str, host: str | None) -> None:
    assert request_host(header) == host


@pytest.mark.parametrize(
    "header",
    ["[::1]evil", "[::1].evil.com", "localhost.evil.com", "127.0.0.1@evil", "localhost.",
     "127.0.0.1.", "evil@localhost"],
)  # fmt: skip
def test_lookalike_hosts_are_not_accepted(header: str) -> None:
    assert not FILTER.accepts("GET", "/api", request_host(header))


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param("http://evil@localhost", id="userinfo before an accepted host"),
        pytest.param("http://localhost@evil", id="userinfo naming an accepted host"),
        pytest.param("http://[::1]evil", id="text after the ipv6 literal"),
        pytest.param("http://[::1].evil.com:80", id="name after the ipv6 literal"),
        pytest.param("http://localhost.", id="trailing dot"),
        pytest.param("http://localhost/x", id="a path (no browser sends one)"),
        pytest.param("localhost", id="no scheme"),
    ],
)
def test_lookalike_origins_are_not_accepted(origin: str) -> None:
    assert not FILTER.accepts_origin(origin)
