"""The composition root's own decisions: defaults that depend on other settings, the audit log."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.config import LimitsConfig, ListenConfig, ProxyConfig
from proxy.errors import ConfigError
from proxy.serving.root import EXPOSED_MAX_REQUESTS_PER_CLIENT, AuditLog, complete


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        (ListenConfig(address="127.0.0.1"), 0),
        (ListenConfig(address="::1"), 0),
        (ListenConfig(address="0.0.0.0"), EXPOSED_MAX_REQUESTS_PER_CLIENT),
        (ListenConfig(address="0.0.0.0", unix_socket=Path("/tmp/p.sock")), 0),
    ],
    ids=["loopback: no cap", "IPv6 loopback: no cap", "exposed: capped", "unix socket: no cap"],
)
def test_per_client_cap_decided_by_exposure_when_unset(listen: ListenConfig, expected: int) -> None:
    completed = complete(ProxyConfig(listen=listen))
    assert completed.limits.max_requests_per_client == expected


def test_per_client_cap_given_is_kept() -> None:
    config = ProxyConfig(listen=ListenConfig(address="0.0.0.0"),
                         limits=LimitsConfig(max_requests_per_client=7))
    assert complete(config).limits.max_requests_per_client == 7


@pytest.fixture
def audit_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("proxy.audit")
    found = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = found[0], found[1], found[2]


def test_audit_lines_go_to_their_file_alone(audit_logger: logging.Logger, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    try:
        audit_logger.info('{"verb":"GET"}')
        assert not audit_logger.propagate, "audit lines must not reach the process log"
    finally:
        audit.close()
    assert (tmp_path / "audit.log").read_text() == '{"verb":"GET"}\n'


def test_audit_log_closed_gives_the_logger_back_as_found(
    audit_logger: logging.Logger, tmp_path: Path
) -> None:
    before = (audit_logger.handlers[:], audit_logger.level, audit_logger.propagate)
    AuditLog(tmp_path / "audit.log").close()
    assert (audit_logger.handlers, audit_logger.level, audit_logger.propagate) == before


def test_audit_log_that_cannot_be_opened_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--audit-log .*missing/audit\.log: no such file"):
        AuditLog(tmp_path / "missing" / "audit.log")


# Modules a token kubeconfig without --authn/--authz/--config never needs at start-up.
_UNUSED_AT_START = (
    "proxy.credentials.exec_plugin",
    "proxy.credentials.oidc",
    "proxy.credentials.certificates",
    "proxy.credentials.token_request",
    "proxy.authn.tokenreview",
    "proxy.authn.review_rate",
    "proxy.authz.policy",
    "proxy.authz.subjectaccessreview",
    "proxy.kubeconfig.writer",
    "proxy.testing",
    "cachetools",
    "cryptography",
)
_COMPOSE = """
import sys
from proxy.cli import config_from_args, parse_options
from proxy.serving.root import compose
environ = {"HOME": sys.argv[2]}
compose(config_from_args(parse_options(["--kubeconfig", sys.argv[1]], environ), environ))
print(" ".join(name for name in sys.modules if name.split(".")[0] in ("proxy", "cachetools",
      "cryptography")))
"""


def test_start_up_imports_only_what_the_configuration_uses(tmp_path: Path) -> None:
    """Start-up time: exec plugins, OIDC, client certificates, reviews, policies stay unloaded."""
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", _COMPOSE, str(kubeconfig), str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    imported = set(result.stdout.split())
    assert "proxy.credentials.static" in imported  # the run really composed a proxy
    unused = {name for name in imported if name.startswith(_UNUSED_AT_START)}
    assert not unused
