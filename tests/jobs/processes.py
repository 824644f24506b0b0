"""Helpers for tests with real processes: the process table read from /proc, free ports, polling."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def redis_servers_in(folder) -> list[int]:
    """Pids of live redis-server processes whose socket or config file lies in `folder` (redis-server
    rewrites its command line to "redis-server unixsocket:<path>", so both forms are looked for)."""
    folder = str(Path(folder).resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = next((ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:  # gone meanwhile
            continue
        if "Z" in state.split()[1:2]:  # a zombie is dead, only not yet reaped
            continue
        cmdline = b" ".join(argv).decode(errors="replace")
        if "redis-server" in cmdline and (folder + os.sep) in cmdline:
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of `pid` with their command lines."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out[int(entry.name)] = cmd
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, every: float = 0.1):
    """Poll `check()` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
        time.sleep(every)
