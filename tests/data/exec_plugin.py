#!/usr/bin/env python3
"""A client-go exec credential plugin for the tests, steered by files in $PLUGIN_STATE.

    mode         ok (default) | fail | garbage | cert | slow
    token        the token to print
    expires_in   seconds until expirationTimestamp (absent: no expiry)
    runs         appended with one line per run (the tests count them)
    exec_info    the KUBERNETES_EXEC_INFO it was given
"""

import datetime
import json
import os
import sys
import time
from pathlib import Path

state = Path(os.environ["PLUGIN_STATE"])
with (state / "runs").open("a") as runs:
    runs.write("run\n")
(state / "exec_info").write_text(os.environ.get("KUBERNETES_EXEC_INFO", ""))
mode = (state / "mode").read_text().strip() if (state / "mode").exists() else "ok"
api_version = json.loads(os.environ["KUBERNETES_EXEC_INFO"])["apiVersion"]

if mode == "fail":
    print("plugin: contacting the identity provider", file=sys.stderr)
    revoked = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQtdmFsdWU.c2ln"
    print(f"plugin: refused, token {revoked} was revoked", file=sys.stderr)
    sys.exit(3)
if mode == "garbage":
    print("Please visit https://login.example/device and enter code SECRET-GARBAGE-CODE-1234567")
    sys.exit(0)
if mode == "slow":
    time.sleep(float((state / "delay").read_text()))

status = {}
if mode == "cert":
    status["clientCertificateData"] = (state / "cert.pem").read_text()
    status["clientKeyData"] = (state / "key.pem").read_text()
else:
    status["token"] = (state / "token").read_text().strip()
if (state / "expires_in").exists():
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=float((state / "expires_in").read_text())
    )
    status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status}))
