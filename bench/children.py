"""Child processes: started in their own session, always stopped, logs kept in the run's folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_BANNER_LINES = 200
STOP_TIMEOUT_SECONDS = 10.0


class ChildError(RuntimeError):
    """A child did not start; the message ends with the tail of its log."""


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    spawned_at: float
    log_path: Path
    _drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Child:
    """Start `argv` in a new session (so its whole group can be stopped), stderr to a log."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        spawned_at = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    return Child(name=name, process=process, spawned_at=spawned_at, log_path=log_path)


async def wait_for_line(
    child: Child, pattern: re.Pattern[bytes], *, timeout: float
) -> re.Match[bytes]:
    """Read stdout until a line matches, then keep draining it into the log."""
    assert child.process.stdout is not None
    stdout = child.process.stdout
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_BANNER_LINES):
                line = await stdout.readline()
                if not line:
                    break
                match = pattern.search(line)
                if match is not None:
                    child._drain = asyncio.create_task(_drain(stdout, child.log_path))
                    return match
    except TimeoutError:
        pass
    raise ChildError(f"{child.name} did not print {pattern.pattern!r}:\n{child.log_tail()}")


async def _drain(stdout: asyncio.StreamReader, log_path: Path) -> None:
    with log_path.open("ab") as log:
        while line := await stdout.readline():
            log.write(line)


async def stop(child: Child) -> int | None:
    """SIGTERM, then SIGKILL to the child's whole process group if it does not exit in time."""
    process = child.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    # Anything the child left behind in its own group (workers of a killed parent).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if child._drain is not None:
        child._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await child._drain
    return process.returncode
