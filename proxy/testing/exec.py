"""`pods/{name}/exec` over WebSocket: the channel protocol kubectl speaks (v5, and v4).

Each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the
exit Status, 4 terminal resize; v5 adds 255, "this stream is closed". The
"container" runs three commands: `echo ARGS` (to stdout), `cat` (stdin echoed to
stdout until stdin closes) and `exit N`. SPDY is not spoken.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from proxy.testing import status
from proxy.testing.responses import encode_json
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_status(code: int, command: list[str]) -> JSONObject:
    """What the kubelet reports on the error channel (v4 and later)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"{command}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


async def serve_exec(request: web.Request, state: ServerState) -> web.StreamResponse:
    """Upgrade, announce readiness, run the command, report its status, close."""
    ws = web.WebSocketResponse(protocols=(V5, V4))
    if not ws.can_prepare(request).ok:
        raise status.bad_request(f"exec needs a WebSocket upgrade speaking {V5} or {V4}")
    command = request.query.getall("command", [])
    if not command:
        raise status.bad_request("you must specify at least 1 command")
    await ws.prepare(request)
    async with state.streams.track():
        # As the kubelet: an empty message on the lowest writable channel says "ready".
        await ws.send_bytes(bytes([STDOUT]))
        code = await _run(ws, command)
        if not ws.closed:
            await ws.send_bytes(bytes([ERROR]) + encode_json(exit_status(code, command)))
        await ws.close()
    return ws


async def _run(ws: web.WebSocketResponse, command: list[str]) -> int:
    name, args = command[0], command[1:]
    if name == "echo":
        await ws.send_bytes(bytes([STDOUT]) + (" ".join(args) + "\n").encode())
        return 0
    if name == "exit":
        return int(args[0]) if args and args[0].isdigit() else 1
    if name == "cat":
        await _echo_stdin(ws)
        return 0
    await ws.send_bytes(bytes([STDERR]) + f"{name}: command not found\n".encode())
    return 127


async def _echo_stdin(ws: web.WebSocketResponse) -> None:
    """Copy channel 0 to channel 1 until stdin closes (v5) or the client goes."""
    async for message in ws:
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        data: bytes = message.data
        channel = data[0]
        if channel == STDIN and len(data) > 1:
            await ws.send_bytes(bytes([STDOUT]) + data[1:])
        elif channel == CLOSE and data[1:2] == bytes([STDIN]) and ws.ws_protocol == V5:
            return
