"""What a process tree costs, read from /proc: CPU seconds, RSS, peak RSS, sockets on a port."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_TCP_ESTABLISHED = "01"


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def tree_pids(root: int) -> list[int]:
    """`root` and its descendants (a proxy's workers), alive right now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(_stat_fields(int(entry))[1])
            children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    queue = [root]
    while queue and len(found) < 10_000:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system time of the processes (not of reaped children)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_bytes(pids: list[int]) -> int:
    return sum(_status_kib(pid, "VmRSS") for pid in pids) * 1024


def peak_rss_bytes(pids: list[int]) -> int:
    """The sum of each process's VmHWM (peak resident set)."""
    return sum(_status_kib(pid, "VmHWM") for pid in pids) * 1024


def reset_peak_rss(pids: list[int]) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    with contextlib.suppress(OSError):
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fd_dir}/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def established_on_port(pids: list[int], port: int) -> int:
    """Established TCP connections the processes accepted on their local `port`.

    Counted on the server's side, as the API server would see them: whatever the
    client multiplexes or pools, each of these is one TLS session and one socket there.
    """
    inodes: set[str] = set()
    for pid in pids:
        inodes |= _socket_inodes(pid)
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if fields[3] == _TCP_ESTABLISHED and local_port == port and fields[9] in inodes:
                    count += 1
    return count
