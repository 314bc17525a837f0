"""Loading, merging and resolving kubeconfig files; every error names file and field."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from proxy.config import KubeconfigSource, ServeConfig
from proxy.errors import KubeconfigError
from proxy.kubeconfig import load_kubeconfig, resolve_context
from proxy.routing.target import build_target

SECRET = "s3cr3t-token-value-never-shown"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(
    *,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    current: str | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": c} for n, c in (contexts or {}).items()],
    }
    if current is not None:
        document["current-context"] = current
    return document


def simple(**user: Any) -> dict[str, Any]:
    return kubeconfig(
        clusters={"c": {"server": "https://127.0.0.1:6443"}},
        users={"u": user or {"token": SECRET}},
        contexts={"ctx": {"cluster": "c", "user": "u"}},
        current="ctx",
    )


def write(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def load(path: Path, **overrides: Any) -> Any:
    source = KubeconfigSource(explicit_path=path, **overrides)
    return resolve_context(load_kubeconfig(source), source)


def target(path: Path, **overrides: Any) -> Any:
    return build_target(KubeconfigSource(explicit_path=path, **overrides), ServeConfig())


def error_of(call: Any, *args: Any, **kwargs: Any) -> KubeconfigError:
    with pytest.raises(KubeconfigError) as info:
        call(*args, **kwargs)
    assert SECRET not in str(info.value)
    return info.value


# -- which files ------------------------------------------------------------


def test_explicit_kubeconfig_missing_names_the_file(tmp_path: Path) -> None:
    error = error_of(load, tmp_path / "nope.yaml")
    assert error.file == str(tmp_path / "nope.yaml")
    assert "no such file" in str(error)


def test_kubeconfig_env_merges_first_definition_wins(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a.yaml",
        kubeconfig(
            clusters={"shared": {"server": "https://first:6443"}},
            users={"u": {"token": "first-token"}},
        ),
    )
    second = write(
        tmp_path / "b.yaml",
        kubeconfig(
            clusters={
                "shared": {"server": "https://second:6443"},
                "only-b": {"server": "https://b:6443"},
            },
            users={"u": {"token": "second-token"}},
            contexts={"ctx": {"cluster": "shared", "user": "u"}},
            current="ctx",
        ),
    )
    source = KubeconfigSource(env_paths=(first, tmp_path / "missing.yaml", second))
    merged = load_kubeconfig(source)
    assert merged.clusters["shared"].server == "https://first:6443"
    assert merged.clusters["only-b"].file == str(second)
    assert merged.current_context == "ctx"
    resolved = resolve_context(merged, source)
    assert resolved.user.token == "first-token"


def test_current_context_comes_from_the_first_file_that_sets_one(tmp_path: Path) -> None:
    body = {
        "clusters": {"c": {"server": "https://x"}},
        "users": {"u": {}},
        "contexts": {"one": {"cluster": "c", "user": "u"}, "two": {"cluster": "c", "user": "u"}},
    }
    first = write(tmp_path / "a.yaml", kubeconfig(**body, current="two"))  # type: ignore[arg-type]
    second = write(tmp_path / "b.yaml", kubeconfig(**body, current="one"))  # type: ignore[arg-type]
    source = KubeconfigSource(env_paths=(first, second))
    assert resolve_context(load_kubeconfig(source), source).context == "two"


def test_home_kubeconfig_is_the_default(tmp_path: Path) -> None:
    home_config = write(tmp_path / "config", simple())
    source = KubeconfigSource(home_path=home_config)
    assert resolve_context(load_kubeconfig(source), source).cluster.name == "c"


def test_no_kubeconfig_anywhere_says_what_to_do(tmp_path: Path) -> None:
    error = error_of(load_kubeconfig, KubeconfigSource(home_path=tmp_path / "absent"))
    assert "--kubeconfig" in str(error) and "KUBECONFIG" in str(error)


# -- document shape -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("clusters: [\n  - name: a\n  bad", "not valid YAML at line", id="not yaml"),
        pytest.param("- just\n- a list\n", "not a mapping", id="a list, not a mapping"),
        pytest.param("clusters: {a: 1}\n", "clusters: must be a list", id="clusters not a list"),
        pytest.param(
            "users:\n- user: {token: x}\n", "users[0].name: missing", id="user without name"
        ),
        pytest.param(
            "users:\n- name: u\n  user: [1]\n",
            "users[name=u].user: must be a mapping",
            id="user body not a mapping",
        ),
        pytest.param(
            "clusters:\n- name: c\n  cluster: {server: 5}\n",
            "clusters[name=c].cluster.server: must be a string",
            id="server not a string",
        ),
        pytest.param(
            "clusters:\n- name: c\n  cluster: {}\n",
            "clusters[name=c].cluster.server: no server URL set",
            id="no server",
        ),
        pytest.param(
            "clusters:\n- name: c\n  cluster: {server: 'https://x', "
            "insecure-skip-tls-verify: 'yes'}\n",
            "insecure-skip-tls-verify: must be true or false",
            id="insecure not a bool",
        ),
    ],
)
def test_malformed_document_names_file_and_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = write(tmp_path / "kubeconfig", content)
    error = error_of(load_kubeconfig, KubeconfigSource(explicit_path=path))
    assert str(path) in str(error)
    assert expected in str(error)


def test_empty_file_has_no_current_context(tmp_path: Path) -> None:
    path = write(tmp_path / "kubeconfig", "")
    error = error_of(load, path)
    assert error.field == "current-context"
    assert "use-context" in str(error)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        pytest.param(
            {"context": "nope"}, "--context", 'context "nope" not found', id="context flag"
        ),
        pytest.param(
            {"cluster": "nope"}, "--cluster", 'cluster "nope" not found', id="cluster flag"
        ),
        pytest.param({"user": "nope"}, "--user", 'user "nope" not found', id="user flag"),
    ],
)
def test_unknown_names_from_flags(
    tmp_path: Path, overrides: dict[str, str], field: str, message: str
) -> None:
    error = error_of(load, write(tmp_path / "k", simple()), **overrides)
    assert error.field == field
    assert message in str(error)


def test_current_context_naming_a_missing_cluster(tmp_path: Path) -> None:
    path = write(
        tmp_path / "k",
        kubeconfig(
            users={"u": {}}, contexts={"ctx": {"cluster": "gone", "user": "u"}}, current="ctx"
        ),
    )
    error = error_of(load, path)
    assert error.field == "contexts[name=ctx].context.cluster"
    assert error.file == str(path)


def test_flags_override_the_contexts_cluster_and_user(tmp_path: Path) -> None:
    document = simple()
    document["clusters"].append({"name": "other", "cluster": {"server": "https://other"}})
    document["users"].append({"name": "bob", "user": {"token": "bob-token"}})
    resolved = load(write(tmp_path / "k", document), cluster="other", user="bob")
    assert (resolved.cluster.name, resolved.user.name) == ("other", "bob")


# -- fields -------------------------------------------------------------------


def test_relative_paths_are_relative_to_the_kubeconfig_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    document = simple(tokenFile="token.txt")
    document["clusters"][0]["cluster"]["certificate-authority"] = "pki/ca.crt"
    resolved = load(write(folder / "kubeconfig", document))
    assert resolved.user.token_file == folder / "token.txt"
    assert resolved.cluster.certificate_authority == folder / "pki" / "ca.crt"


def test_bad_base64_names_the_field_and_hides_the_value(tmp_path: Path) -> None:
    path = write(
        tmp_path / "k",
        simple(**{"client-certificate-data": SECRET + "!!", "client-key-data": "AAAA"}),
    )
    error = error_of(load, path)
    assert error.field == "users[name=u].user.client-certificate-data"
    assert "not valid base64" in str(error)


def test_token_and_basic_auth_together_are_refused(tmp_path: Path) -> None:
    error = error_of(load, write(tmp_path / "k", simple(token=SECRET, username="a", password="b")))
    assert "more than one authentication method" in str(error)


def test_certificate_without_key_is_refused(tmp_path: Path) -> None:
    error = error_of(load, write(tmp_path / "k", simple(**{"client-certificate": "c.pem"})))
    assert error.field == "users[name=u].user.client-key"


def test_insecure_with_a_ca_is_refused(tmp_path: Path) -> None:
    document = simple()
    document["clusters"][0]["cluster"].update(
        {"insecure-skip-tls-verify": True, "certificate-authority": "ca.pem"}
    )
    error = error_of(load, write(tmp_path / "k", document))
    assert error.field == "clusters[name=c].cluster.insecure-skip-tls-verify"


# -- material read when the target is built ----------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_unreadable_ca_file_names_file_and_field(tmp_path: Path) -> None:
    document = simple()
    document["clusters"][0]["cluster"]["certificate-authority"] = "missing-ca.crt"
    path = write(tmp_path / "k", document)
    error = error_of(target, path)
    assert error.file == str(path)
    assert error.field == "clusters[name=c].cluster.certificate-authority"
    assert "no such file" in str(error) and "missing-ca.crt" in str(error)


def test_ca_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    document = simple()
    document["clusters"][0]["cluster"]["certificate-authority-data"] = b64(b"hello")
    error = error_of(target, write(tmp_path / "k", document))
    assert error.field == "clusters[name=c].cluster.certificate-authority-data"
    assert "not a PEM certificate" in str(error)


def test_client_certificate_that_does_not_parse(tmp_path: Path, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("alice")
    path = write(
        tmp_path / "k",
        simple(
            **{
                "client-certificate-data": b64(b"-----BEGIN CERTIFICATE-----\nnope\n"),
                "client-key-data": b64(leaf.private_key_pem.bytes()),
            }
        ),
    )
    error = error_of(target, path)
    assert error.field == "users[name=u].user.client-certificate-data"


def test_client_key_that_does_not_parse(tmp_path: Path, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("alice")
    (tmp_path / "key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + SECRET.encode())
    path = write(
        tmp_path / "k",
        simple(
            **{
                "client-certificate-data": b64(leaf.cert_chain_pems[0].bytes()),
                "client-key": "key.pem",
            }
        ),
    )
    error = error_of(target, path)
    assert error.field == "users[name=u].user.client-key"
    assert "not an unencrypted PEM private key" in str(error)


def test_key_that_does_not_match_its_certificate(tmp_path: Path, ca: trustme.CA) -> None:
    alice, bob = ca.issue_cert("alice"), ca.issue_cert("bob")
    path = write(
        tmp_path / "k",
        simple(
            **{
                "client-certificate-data": b64(alice.cert_chain_pems[0].bytes()),
                "client-key-data": b64(bob.private_key_pem.bytes()),
            }
        ),
    )
    error = error_of(target, path)
    assert "does not match" in str(error)
    assert error.field == "users[name=u].user.client-key-data"


def test_unreadable_client_certificate_file(tmp_path: Path) -> None:
    path = write(tmp_path / "k", simple(**{"client-certificate": "c.pem", "client-key": "k.pem"}))
    error = error_of(target, path)
    assert error.field == "users[name=u].user.client-certificate"
    assert "no such file" in str(error)


def test_unreadable_token_file(tmp_path: Path) -> None:
    path = write(tmp_path / "k", simple(tokenFile="absent-token"))
    error = error_of(target, path)
    assert "users[name=u].user.tokenFile" in str(error)
    assert "absent-token" in str(error)


def test_expired_client_certificate_is_a_warning_with_its_date(
    tmp_path: Path, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    expired_at = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    leaf = ca.issue_cert(
        "alice", not_before=expired_at - dt.timedelta(days=1), not_after=expired_at
    )
    path = write(
        tmp_path / "k",
        simple(
            **{
                "client-certificate-data": b64(leaf.cert_chain_pems[0].bytes()),
                "client-key-data": b64(leaf.private_key_pem.bytes()),
            }
        ),
    )
    with caplog.at_level(logging.WARNING):
        target(path)
    assert "expired on 2020-01-02T03:04:05" in caplog.text
    assert "users[name=u].user.client-certificate-data" in caplog.text




def test_server_that_is_not_a_url(tmp_path: Path) -> None:
    document = simple()
    document["clusters"][0]["cluster"]["server"] = "ftp://example"
    error = error_of(target, write(tmp_path / "k", document))
    assert error.field == "clusters[name=c].cluster.server"
