"""deploy/ as shipped: the sidecar's manifests build with kustomize and validate against the
Kubernetes schemas, the sidecar's command line runs the proxy in-cluster for the app, and the
systemd user unit verifies and its ExecStart serves with a kubeconfig.

Validation uses kubernetes-validate's strict JSON schemas (generated from the Kubernetes
OpenAPI, one set per minor version, shipped in the package so no network is needed): an
unknown field, a wrong type or a missing required field fails. The official client's models
are no substitute: they silently drop fields they do not know, so a typo would pass.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import copy
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import trustme
import yaml

from proxy.testing import FakeAPIServer
from proxy.testing.rbac import RBAC, Grant
from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import BANNER, KUBECTL, ProxyProcess, SpawnProxy, need_kubectl, run

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"
UNIT = DEPLOY / "systemd" / "kube-auth-proxy.service"

# The oldest Kubernetes with native sidecars (initContainers with restartPolicy: Always),
# and the one of the kubectl the tests use.
KUBERNETES_VERSIONS = ("1.29", "1.32")
NAMESPACE = "demo"
SIDECAR = "kube-auth-proxy"
APP = "app"
JSONObject = dict[str, Any]


# --- kustomize and schema validation -------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[JSONObject]:
    """`kubectl kustomize deploy/sidecar`, parsed: what `kubectl apply -k` would send."""
    need_kubectl()
    done = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / "sidecar")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def find(manifests: list[JSONObject], kind: str) -> JSONObject:
    (obj,) = (m for m in manifests if m["kind"] == kind)
    return obj


def pod_spec(manifests: list[JSONObject]) -> JSONObject:
    spec: JSONObject = find(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(manifests: list[JSONObject], name: str) -> JSONObject:
    spec = pod_spec(manifests)
    found: list[JSONObject] = [c for c in [*spec.get("initContainers", []), *spec["containers"]]
                               if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def validate_strictly(obj: JSONObject, version: str) -> None:
    """Raise unless `obj` is valid for that Kubernetes version: no unknown field, right types,
    required fields present. A kind without a schema is an error too (the CLI only warns)."""
    kubernetes_validate.validate(obj, version, strict=True)


def test_kustomize_builds_the_expected_objects(manifests: list[JSONObject]) -> None:
    assert sorted((m["kind"], m["metadata"]["name"]) for m in manifests) == [
        ("Deployment", "configmap-reader"),
        ("Role", "configmap-reader"),
        ("RoleBinding", "configmap-reader"),
        ("ServiceAccount", "configmap-reader"),
    ]
    # Namespace-agnostic: `kubectl apply -k deploy/sidecar -n NAME` puts it all in NAME.
    assert all("namespace" not in m["metadata"] for m in manifests)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(
    manifests: list[JSONObject], version: str
) -> None:
    for obj in manifests:
        validate_strictly(obj, version)


BROKEN = {
    "unknown field": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        imagee="curl"),
    "misspelt security field": lambda d: d["spec"]["template"]["spec"]["containers"][0][
        "securityContext"].update(readOnlyRootFileSystem=True),
    "port as a string": lambda d: d["spec"]["template"]["spec"]["initContainers"][0][
        "ports"][0].update(containerPort="8081"),
    "missing container name": lambda d: d["spec"]["template"]["spec"]["containers"][0].pop(
        "name"),
    "replicas as a string": lambda d: d["spec"].update(replicas="1"),
    "unknown kind": lambda d: d.update(kind="Deploymnt"),
}


@pytest.mark.parametrize("breakage", BROKEN.values(), ids=BROKEN.keys())
def test_validation_refuses_a_broken_deployment(manifests: list[JSONObject], breakage: Any) -> None:
    broken = copy.deepcopy(find(manifests, "Deployment"))
    breakage(broken)
    with pytest.raises((kubernetes_validate.ValidationError,
                        kubernetes_validate.SchemaNotFoundError)):
        validate_strictly(broken, KUBERNETES_VERSIONS[-1])


def test_pod_is_locked_down_with_limits(manifests: list[JSONObject]) -> None:
    spec = pod_spec(manifests)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert isinstance(spec["securityContext"]["runAsUser"], int)
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for name in (SIDECAR, APP):
        found = container(manifests, name)
        assert found["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        for bound in ("requests", "limits"):
            assert set(found["resources"][bound]) == {"cpu", "memory"}, (name, bound)


def test_only_the_sidecar_holds_the_service_account_token(manifests: list[JSONObject]) -> None:
    spec = pod_spec(manifests)
    assert spec["automountServiceAccountToken"] is False
    assert find(manifests, "ServiceAccount")["automountServiceAccountToken"] is False
    assert "volumeMounts" not in container(manifests, APP)
    (mount,) = container(manifests, SIDECAR)["volumeMounts"]
    assert mount["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert mount["readOnly"] is True
    (volume,) = (v for v in spec["volumes"] if v["name"] == mount["name"])
    projected = {next(iter(source)) for source in volume["projected"]["sources"]}
    assert projected == {"serviceAccountToken", "configMap", "downwardAPI"}


def test_sidecar_is_native_and_runs_the_image_entrypoint(manifests: list[JSONObject]) -> None:
    sidecar = container(manifests, SIDECAR)
    assert sidecar in pod_spec(manifests)["initContainers"]
    assert sidecar["restartPolicy"] == "Always"
    assert "command" not in sidecar, "the image's ENTRYPOINT must run"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert sidecar["image"] == f"ghcr.io/kube-auth-proxy/kube-auth-proxy:{version}"


def test_containerfile_runs_the_console_script_as_a_numeric_non_root_user() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert image_entrypoint() == ["kube-auth-proxy"]
    assert scripts["kube-auth-proxy"] == "proxy.cli:main"
    (user,) = re.findall(r"^USER (\S+)$", CONTAINERFILE.read_text(), re.MULTILINE)
    assert all(part.isdigit() and int(part) != 0 for part in user.split(":"))


def test_containerfile_exposes_the_ports_the_sidecar_uses(manifests: list[JSONObject]) -> None:
    (exposed,) = re.findall(r"^EXPOSE (.*)$", CONTAINERFILE.read_text(), re.MULTILINE)
    health = {p["containerPort"] for p in container(manifests, SIDECAR)["ports"]}
    assert {8001, *health} == {int(port) for port in exposed.split()}


def test_role_grants_the_service_account_what_the_app_reads(
    manifests: list[JSONObject],
) -> None:
    binding = find(manifests, "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": find(manifests, "Role")["metadata"]["name"]}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": pod_spec(manifests)["serviceAccountName"]}
    ]
    assert find(manifests, "Role")["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    ]


# --- the sidecar's command line, run against the fake API server ---------------------------


def image_entrypoint() -> list[str]:
    (entrypoint,) = re.findall(r"^ENTRYPOINT (\[.*\])$", CONTAINERFILE.read_text(), re.MULTILINE)
    return list(json.loads(entrypoint))


def image_cmd() -> list[str]:
    (cmd,) = re.findall(r"^CMD (\[.*\])$", CONTAINERFILE.read_text(), re.MULTILINE)
    return list(json.loads(cmd))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# In the pod the proxy listens on 127.0.0.1:8001 and the health listener on 0.0.0.0:8081.
# Here every listener stays on loopback and on ports nothing else holds: `--port` becomes 0
# (the banner says which port was bound), `--health-port` a free port, and both addresses
# 127.0.0.1. Every other argument is kept as the manifest or the image gives it.
def loopback_args(args: list[str], *, health_port: int) -> list[str]:
    replacements = {"--port": "0", "-p": "0", "--health-port": str(health_port),
                    "--address": "127.0.0.1", "--health-address": "127.0.0.1"}
    result: list[str] = []
    pending: str | None = None
    for arg in args:
        if pending is not None:
            result.append(replacements[pending])
            pending = None
        elif "=" in arg and arg.split("=", 1)[0] in replacements:
            flag = arg.split("=", 1)[0]
            result.append(f"{flag}={replacements[flag]}")
        elif arg in replacements:
            result.append(arg)
            pending = arg
        else:
            result.append(arg)
    return result


def test_loopback_args_replaces_both_flag_spellings() -> None:
    args = ["--in-cluster", "--port=8001", "--address", "0.0.0.0", "-p", "9",
            "--health-port", "8081", "--health-address=0.0.0.0", "--v=1"]
    assert loopback_args(args, health_port=5) == [
        "--in-cluster", "--port=0", "--address", "127.0.0.1", "-p", "0",
        "--health-port", "5", "--health-address=127.0.0.1", "--v=1"]


def fake_rbac(manifests: list[JSONObject], namespace: str) -> RBAC:
    """The manifests' Role and RoleBinding as the fake API server's grants, plus what every
    cluster grants everyone (system:public-info-viewer), which /readyz's GET /version needs."""
    role = find(manifests, "Role")
    (subject,) = find(manifests, "RoleBinding")["subjects"]
    # A ServiceAccount subject without a namespace is the binding's namespace's account.
    user = f"system:serviceaccount:{subject.get('namespace', namespace)}:{subject['name']}"
    grants = [
        Grant(verbs=tuple(rule["verbs"]), users=(user,), api_groups=tuple(rule["apiGroups"]),
              resources=tuple(rule["resources"]), namespaces=(namespace,))
        for rule in role["rules"]
    ]
    grants.append(Grant(verbs=("get",), groups=("system:authenticated",),
                        non_resource_urls=("/healthz", "/livez", "/readyz", "/version")))
    return RBAC(grants=grants)


def app_url(manifests: list[JSONObject], proxy_url: str, namespace: str) -> str:
    """The URL the app container's loop calls, pointed at this proxy and namespace."""
    script = " ".join(container(manifests, APP)["args"])
    (path,) = re.findall(r'"http://localhost:8001(/[^"]*)"', script)
    return proxy_url + str(path).replace("${NAMESPACE}", namespace)


def test_app_calls_the_proxy_for_its_own_namespace(manifests: list[JSONObject]) -> None:
    app = container(manifests, APP)
    assert app["env"] == [{"name": "NAMESPACE",
                           "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
    assert app_url(manifests, "http://proxy", "ns") == "http://proxy/api/v1/namespaces/ns/configmaps"
    assert re.search(r"\bsleep \d+\b", " ".join(app["args"])), "calls are paced"


SIDECAR_COMMAND_LINES = {
    "the Deployment's sidecar": lambda manifests: container(manifests, SIDECAR)["args"],
    "the image's default CMD": lambda manifests: image_cmd(),
}


@pytest.mark.parametrize("args_of", SIDECAR_COMMAND_LINES.values(),
                         ids=SIDECAR_COMMAND_LINES.keys())
async def test_sidecar_command_line_serves_the_app_in_cluster(
    manifests: list[JSONObject], spawn_proxy: SpawnProxy, tmp_path: Path, args_of: Any
) -> None:
    sidecar = container(manifests, SIDECAR)
    assert image_entrypoint() == ["kube-auth-proxy"]  # run below as `python -m proxy`
    health_port = free_port()
    args = loopback_args(list(args_of(manifests)), health_port=health_port)
    token = "projected-sa-token"
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    async with FakeAPIServer(tokens={}, rbac=fake_rbac(manifests, NAMESPACE)) as api:
        account = pod_spec(manifests)["serviceAccountName"]
        api.add_token(token, f"system:serviceaccount:{NAMESPACE}:{account}")
        api.store.create("namespaces", {"metadata": {"name": NAMESPACE}})
        api.store.create("configmaps", {"metadata": {"name": "settings"}}, namespace=NAMESPACE)
        (folder / "token").write_text(token)
        (folder / "ca.crt").write_bytes(api.ca_pem)
        (folder / "namespace").write_text(NAMESPACE)
        proxy = await spawn_proxy(
            *args, "--service-account-dir", str(folder),
            env={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port)},
        )
        code, out, err = await run(
            "curl", "--silent", "--show-error", "--fail-with-body", "--max-time", "10",
            app_url(manifests, proxy.url, NAMESPACE),
        )
        assert code == 0, (out, err)
        listed = json.loads(out)
        assert listed["kind"] == "ConfigMapList"
        assert [item["metadata"]["name"] for item in listed["items"]] == ["settings"]
        assert api.requests[-1].user == f"system:serviceaccount:{NAMESPACE}:{account}"

        # Least privilege: the Role reads ConfigMaps, and nothing else.
        for path in (f"/api/v1/namespaces/{NAMESPACE}/secrets",
                     "/api/v1/namespaces/default/configmaps"):
            code, out, _ = await run("curl", "--silent", "--max-time", "10",
                                     "--write-out", "\n%{http_code}", proxy.url + path)
            assert out.rsplit("\n", 1)[1] == "403", path

        ports = {p["name"]: p["containerPort"] for p in sidecar["ports"]}
        assert f"--health-port={ports['health']}" in args_of(manifests)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = sidecar[probe]["httpGet"]
            assert get["port"] == "health"
            code, out, _ = await run("curl", "--silent", "--max-time", "10",
                                     "--write-out", "\n%{http_code}",
                                     f"http://127.0.0.1:{health_port}{get['path']}")
            assert code == 0 and out.rsplit("\n", 1)[1] == "200", (probe, out)

        code, logged = await proxy.stop()
        assert code == 0, logged


# --- the pod's start and stop -------------------------------------------------------------

# The kubelet sends SIGTERM, then SIGKILL after the grace period; the app should not need it.
APP_STOP_SECONDS = 3.0
# The app's shell runs as PID 1 in its container: in a PID namespace of its own here.
AS_PID_1 = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child"]


async def livez_answers(port: int) -> bool:
    """One GET /livez, as the kubelet's startup probe sends it."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status_line = await reader.readline()
    finally:
        writer.close()
    return status_line.split()[1:2] == [b"200"]


async def test_sidecar_listens_within_its_startup_probe_budget(
    manifests: list[JSONObject], tmp_path: Path
) -> None:
    sidecar = container(manifests, SIDECAR)
    probe = sidecar["startupProbe"]
    first_probe = probe.get("initialDelaySeconds", 0)
    budget = first_probe + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    # A probe at the container's start always fails (nothing listens that soon) and the
    # kubelet records a "Startup probe failed" event for it.
    assert first_probe > 0, "the first startup probe must wait for the proxy to listen"
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text("projected-sa-token")
    (folder / "ca.crt").write_bytes(trustme.CA().cert_pem.bytes())
    (folder / "namespace").write_text(NAMESPACE)
    health_port = free_port()
    # The image's entrypoint, the console script, with the Deployment's arguments.
    entrypoint = Path(sys.executable).parent / image_entrypoint()[0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    process = await asyncio.create_subprocess_exec(
        entrypoint, *loopback_args(sidecar["args"], health_port=health_port),
        "--service-account-dir", str(folder),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "KUBERNETES_SERVICE_HOST": "127.0.0.1",
             "KUBERNETES_SERVICE_PORT": str(free_port()), "PYTHONUNBUFFERED": "1"},
    )
    try:
        while not await livez_answers(health_port):
            assert process.returncode is None, "the sidecar exited before it listened"
            assert loop.time() - started < budget, f"not listening after {budget} s"
            await asyncio.sleep(0.01)
        listening = loop.time() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        _, logged = await process.communicate()
    print(f"sidecar: /livez answered {listening:.2f} s after the start; first startup probe "
          f"after {first_probe} s, given up after {budget} s")
    if listening >= first_probe:
        warnings.warn(f"the sidecar took {listening:.2f} s to listen here: the first startup "
                      f"probe (after {first_probe} s) would fail", stacklevel=1)
    assert listening < budget, logged.decode(errors="replace")


def app_command(manifests: list[JSONObject], *, proxy_url: str) -> list[str]:
    """The app container's command line, calling `proxy_url` instead of localhost:8001."""
    app = container(manifests, APP)
    return [arg.replace("http://localhost:8001", proxy_url)
            for arg in [*app["command"], *app["args"]]]


@pytest.fixture(scope="module")
def pid_namespaces() -> None:
    unshare = subprocess.run([*AS_PID_1, "true"], capture_output=True, text=True, timeout=30,
                             check=False) if shutil.which("unshare") else None
    if unshare is None or unshare.returncode != 0:
        pytest.skip("cannot run a command as PID 1 of a PID namespace (unshare): "
                    f"{unshare.stderr.strip() if unshare else 'not installed'}")


def children(pid: int) -> list[int]:
    return [int(child) for child in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


WRAPPERS = {"as PID 1, as in the container": AS_PID_1, "as an ordinary child process": []}


@pytest.mark.parametrize("wrapper", WRAPPERS.values(), ids=WRAPPERS.keys())
async def test_app_command_exits_promptly_on_sigterm(
    manifests: list[JSONObject], request: pytest.FixtureRequest, wrapper: list[str]
) -> None:
    if wrapper:
        request.getfixturevalue("pid_namespaces")
    process = await asyncio.create_subprocess_exec(
        *wrapper, *app_command(manifests, proxy_url=f"http://127.0.0.1:{free_port()}"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NAMESPACE": NAMESPACE}, start_new_session=True,
    )
    assert process.stdout is not None
    try:
        # A first call was made (it failed: nothing listens there); the loop now sleeps.
        async with asyncio.timeout(20):
            await process.stdout.readline()
        (shell,) = children(process.pid) if wrapper else (process.pid,)
        os.kill(shell, signal.SIGTERM)
        # Polled, not process.wait(): that also waits for the pipes, which the loop's
        # orphaned `sleep` may hold open.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + APP_STOP_SECONDS
        while (code := process.returncode) is None:
            if loop.time() > deadline:
                pytest.fail(f"the app still runs {APP_STOP_SECONDS} s after SIGTERM")
            await asyncio.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the loop's sleep, if still there
        await process.communicate()
    assert code == 0, "the app's own handler ends it, not the signal"


# --- the systemd user unit -----------------------------------------------------------------


def read_unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text())
    return unit


@pytest.fixture
def user_home() -> Path:
    """$HOME (%h) as a pipx install leaves it: the console script in ~/.local/bin."""
    home = Path(os.environ["HOME"])
    script = Path(sys.executable).parent / "kube-auth-proxy"
    assert os.access(script, os.X_OK), f"{script}: the project's console script"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "kube-auth-proxy").symlink_to(script)
    (home / ".kube").mkdir()
    return home


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    """$XDG_RUNTIME_DIR (%t) of a user manager: private to the user."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    return folder


def test_unit_passes_systemd_analyze_verify(user_home: Path, runtime_dir: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    (user_home / ".kube" / "config").write_text("{}")
    done = subprocess.run(
        [analyze, "verify", "--user", str(UNIT)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)},
    )
    if "Failed to initialize manager" in done.stderr:
        pytest.skip(f"no user manager can be set up here: {done.stderr.strip()}")
    # Unknown keys and bad values are warnings on stderr with exit code 0: both must be clean.
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_unit_enables_and_restarts_on_failure() -> None:
    unit = read_unit()
    assert unit["Install"]["WantedBy"] == "default.target"
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["NoNewPrivileges"] == "yes"


def exec_starts() -> dict[str, str]:
    """The unit's ExecStart, and the unix-socket variant its comments offer."""
    text = UNIT.read_text()
    (unix,) = re.findall(r"^#\s+ExecStart=(.*--unix-socket.*)$", text, re.MULTILINE)
    return {"the unit's ExecStart": read_unit()["Service"]["ExecStart"],
            "the unix-socket variant": unix}


def expand_specifiers(command: str, *, home: Path, runtime: Path) -> list[str]:
    """%h and %t as a user manager expands them; no other specifier may appear."""
    argv = shlex.split(command.replace("%h", str(home)).replace("%t", str(runtime)))
    assert not any("%" in arg for arg in argv), argv
    return argv


async def start_unit_command(argv: list[str], env: dict[str, str]) -> ProxyProcess:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    assert process.stdout is not None and process.stderr is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = BANNER.match(line)
    if match is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise AssertionError(f"no banner: {line!r} {(await process.stderr.read()).decode()}")
    return ProxyProcess(process=process, banner=line.strip(), address=match.group(1))


@pytest.mark.parametrize("command", exec_starts().values(), ids=exec_starts().keys())
async def test_unit_exec_start_serves_with_the_kubeconfig(
    apiserver: FakeAPIServer, user_home: Path, runtime_dir: Path, command: str
) -> None:
    apiserver.kubeconfig(user_home / ".kube" / "config", token=ADMIN_TOKEN)
    argv = expand_specifiers(command, home=user_home, runtime=runtime_dir)
    assert argv[0] == str(user_home / ".local" / "bin" / "kube-auth-proxy")
    # The unit fixes port 8001; here the port is 0 and the banner says which one was bound.
    argv = loopback_args(argv, health_port=0)
    environment = dict(line.split("=", 1) for line in
                       read_unit()["Service"].get("Environment", "").split())
    proxy = await start_unit_command(argv, environment)
    try:
        if "--unix-socket" in argv:
            socket_path = argv[argv.index("--unix-socket") + 1]
            assert proxy.address == socket_path
            assert (os.stat(socket_path).st_mode & 0o777) == 0o600
            target = ["--unix-socket", socket_path, "http://localhost/version"]
        else:
            target = [f"{proxy.url}/version"]
        code, out, err = await run("curl", "--silent", "--show-error", "--fail",
                                   "--max-time", "10", *target)
        assert code == 0, err
        assert "gitVersion" in json.loads(out)
        assert apiserver.requests[-1].user == "admin"
    finally:
        code, logged = await proxy.stop()
    assert code == 0, logged
