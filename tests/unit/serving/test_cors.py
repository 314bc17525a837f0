"""The CORS policy as a pure predicate: which origins, which headers, which expressions refused."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from proxy.cli import config_from_args, parse_options
from proxy.config import CorsConfig
from proxy.errors import ConfigError
from proxy.serving.cors import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    EXPOSED_HEADERS,
    CorsPolicy,
    add_vary,
    is_same_origin,
    literal_origin,
)

DASH = "^https://dash\\.example\\.com$"
LOOPBACK_PAGE = "http://127\\.0\\.0\\.1:9000"


def policy(*patterns: str, allow_any_origin: bool = False) -> CorsPolicy:
    built = CorsPolicy.from_config(
        CorsConfig(allowed_origins=patterns, allow_any_origin=allow_any_origin)
    )
    assert built is not None
    return built


def test_no_origins_listed_means_cors_off() -> None:
    assert CorsPolicy.from_config(CorsConfig()) is None


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        pytest.param("https://dash.example.com", True, id="the listed origin"),
        pytest.param("http://127.0.0.1:9000", True, id="the listed loopback page"),
        pytest.param("https://dash.example.com.attacker.net", False, id="listed name as prefix"),
        pytest.param("https://evil-dash.example.com", False, id="listed name as suffix"),
        pytest.param("http://127.0.0.1:90001", False, id="longer port"),
        pytest.param("http://127.0.0.1:9000.attacker.net", False, id="port then a domain"),
        pytest.param("http://dash.example.com", False, id="other scheme"),
        pytest.param("null", False, id="opaque origin"),
        pytest.param("", False, id="empty"),
    ],
)
def test_origins_are_matched_whole(origin: str, allowed: bool) -> None:
    assert policy(DASH, LOOPBACK_PAGE).allows(origin) is allowed


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(".*", id="dot star"),
        pytest.param(".+", id="dot plus"),
        pytest.param("^.*$", id="anchored dot star"),
        pytest.param("https?://.*", id="any http or https site"),
        pytest.param("https://.*", id="any https site"),
        pytest.param("http://localhost.*", id="localhost prefix admits localhost.attacker"),
        pytest.param("[a-z]+://[a-z0-9.:]+", id="character classes"),
        pytest.param("null", id="the opaque origin any site can make"),
        pytest.param("(?i)HTTPS?://.*", id="flags"),
    ],
)
def test_expressions_that_admit_any_site_refused_at_startup(pattern: str) -> None:
    with pytest.raises(ConfigError) as error:
        policy(pattern)
    message = str(error.value)
    assert "--cors-allowed-origins" in message and "--insecure-allow-any-cors-origin" in message
    assert repr(pattern) in message


def test_any_site_expression_accepted_with_insecure_flag_and_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="proxy.serving.cors"):
        any_site = policy("https?://.*", allow_any_origin=True)
    assert any_site.allows("https://anything.example")
    assert any("ANY web site" in record.getMessage() for record in caplog.records)
    headers = dict(any_site.response_headers("https://anything.example"))
    assert "Access-Control-Allow-Credentials" not in headers


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("http://localhost(:[0-9]+)?", id="localhost on any port"),
        pytest.param("https://[a-z0-9-]+\\.dash\\.example\\.com", id="subdomains of one site"),
        pytest.param(DASH, id="one site"),
    ],
)
def test_narrow_expressions_accepted(pattern: str) -> None:
    assert policy(pattern).patterns[0].pattern == pattern


def test_invalid_expression_refused_naming_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"--cors-allowed-origins: '\(' is not a valid"):
        policy("(")


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        pytest.param(DASH, "https://dash.example.com", id="anchored, escaped dots"),
        pytest.param(LOOPBACK_PAGE, "http://127.0.0.1:9000", id="unanchored loopback"),
        pytest.param("http://localhost:8080$", "http://localhost:8080", id="end anchor only"),
        pytest.param("https://dash.example.com", None, id="unescaped dot matches anything"),
        pytest.param("http://localhost:\\d+", None, id="digit class"),
        pytest.param("https://(a|b)\\.example", None, id="alternation"),
        pytest.param("https://a\\.example\\Z", None, id="escaped letter"),
        pytest.param("https://a\\.example\\", None, id="dangling backslash"),
    ],
)
def test_literal_origin_only_for_an_expression_naming_one(
    pattern: str, literal: str | None
) -> None:
    assert literal_origin(pattern) == literal


def test_credentials_allowed_only_for_literally_listed_origin() -> None:
    both = policy(DASH, "https://[a-z]+\\.apps\\.example\\.com")
    listed = dict(both.response_headers("https://dash.example.com"))
    by_pattern = dict(both.response_headers("https://shop.apps.example.com"))
    assert listed["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Credentials" not in by_pattern


def test_response_headers_echo_origin_never_star() -> None:
    headers = dict(policy(LOOPBACK_PAGE).response_headers("http://127.0.0.1:9000"))
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9000"
    methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == set(ALLOWED_METHODS) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    allowed = headers["Access-Control-Allow-Headers"].split(", ")
    assert set(allowed) == set(ALLOWED_HEADERS) >= {"Authorization", "Content-Type"}
    assert headers["Access-Control-Expose-Headers"].split(", ") == list(EXPOSED_HEADERS)
    assert int(headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        pytest.param("http://127.0.0.1:8001", "127.0.0.1:8001", True, id="same host and port"),
        pytest.param("http://LOCALHOST:8001", "localhost:8001", True, id="case-insensitive"),
        pytest.param("https://proxy.example", "proxy.example:443", True, id="default https port"),
        pytest.param("http://proxy.example:80", "proxy.example", True, id="default http port"),
        pytest.param("http://127.0.0.1:9000", "127.0.0.1:8001", False, id="other port"),
        pytest.param("https://proxy.example", "proxy.example:80", False, id="other default port"),
        pytest.param("http://attacker.example", "127.0.0.1:8001", False, id="other host"),
        pytest.param("null", "127.0.0.1:8001", False, id="opaque origin"),
        pytest.param("http://127.0.0.1:8001", None, False, id="no host header"),
    ],
)
def test_same_origin_when_origin_names_the_host_requested(
    origin: str, host: str | None, same: bool
) -> None:
    assert is_same_origin(origin, host) is same


def test_websocket_from_listed_or_own_origin_only() -> None:
    pages = policy(LOOPBACK_PAGE)
    assert pages.accepts_websocket("http://127.0.0.1:9000", "127.0.0.1:8001")
    assert pages.accepts_websocket("http://127.0.0.1:8001", "127.0.0.1:8001")
    assert not pages.accepts_websocket("http://127.0.0.1:9001", "127.0.0.1:8001")
    assert not pages.accepts_websocket("http://localhost:9000", "127.0.0.1:8001")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param([], "Origin", id="no vary"),
        pytest.param(["Accept-Encoding"], "Accept-Encoding, Origin", id="other vary kept"),
        pytest.param(["accept-encoding, origin"], "accept-encoding, origin", id="already there"),
        pytest.param(["*"], "*", id="vary star"),
    ],
)
def test_vary_names_origin_once(before: list[str], after: str) -> None:
    response = web.StreamResponse()
    for value in before:
        response.headers.add("Vary", value)
    add_vary(response, "Origin")
    assert ", ".join(response.headers.getall("Vary")) == after


def test_flags_build_cors_config() -> None:
    argv = ["--cors-allowed-origins", f"{DASH},{LOOPBACK_PAGE}", "--insecure-allow-any-cors-origin"]
    config = config_from_args(parse_options(argv, {}), {})
    assert config.serve.cors == CorsConfig(
        allowed_origins=(DASH, LOOPBACK_PAGE), allow_any_origin=True
    )
    assert config_from_args(parse_options([], {}), {}).serve.cors == CorsConfig()


def test_environment_sets_cors_origins() -> None:
    environ = {"KUBE_AUTH_PROXY_CORS_ALLOWED_ORIGINS": LOOPBACK_PAGE}
    config = config_from_args(parse_options([], environ), environ)
    assert config.serve.cors.allowed_origins == (LOOPBACK_PAGE,)
