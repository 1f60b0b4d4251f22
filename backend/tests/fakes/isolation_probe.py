"""A `command` bot's CLI that looks at what it was given and tries to get out.

    isolation_probe.py fds              print {"fds": {fd: target}, "accepted": [...]}: every
                                        open descriptor, and any socket it could accept() on
    isolation_probe.py env              print {"env": {name: value}}
    isolation_probe.py setsid PIDFILE   start a child in a new session (out of the CLI's group)
                                        that sleeps 300 s, pid in PIDFILE; then sleep 300 s
    isolation_probe.py daemon PIDFILE   daemonize a grandchild (double fork, new session, stdio
                                        kept, like a careless background job) sleeping 300 s,
                                        pid in PIDFILE; then exit 0 at once
    isolation_probe.py clean PIDFILE    like setsid, but the child also drops its environment
    isolation_probe.py clean-exit PIDFILE
                                        like clean, but exit 0 one second after the child started

PIDFILE is written whole (renamed into place), so a reader never sees half a pid.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time


def _descriptors() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the directory listing's own descriptor, closed by now
            continue
    return found


def _try_accept(fd: int) -> str | None:
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        sock.settimeout(0.5)
        connection, peer = sock.accept()
        connection.close()
        return f"fd {fd} accepted a connection from {peer}"
    except OSError:
        return None
    finally:
        sock.close()


def _write_pid(path: str, pid: int) -> None:
    with open(path + ".partial", "w") as file:
        file.write(str(pid))
    os.replace(path + ".partial", path)


def _escape(pidfile: str, *, double_fork: bool, clear_environment: bool) -> None:
    if os.fork() == 0:
        os.setsid()
        if double_fork and os.fork() != 0:
            os._exit(0)
        _write_pid(pidfile, os.getpid())
        if clear_environment:
            os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)"], {})
        time.sleep(300)
        os._exit(0)


def _await_file(path: str) -> None:
    """Go on only once the escaped process has announced itself."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} never appeared")
        time.sleep(0.01)


def main(mode: str, *args: str) -> None:
    if mode == "fds":
        fds = _descriptors()
        accepted = [result for fd in fds if fd > 2 if (result := _try_accept(fd))]
        print(json.dumps({"fds": fds, "accepted": accepted}), flush=True)
    elif mode == "env":
        print(json.dumps({"env": dict(os.environ)}), flush=True)
    elif mode == "daemon":
        _escape(args[0], double_fork=True, clear_environment=False)
        _await_file(args[0])
        print("daemon started", flush=True)
    elif mode in ("setsid", "clean"):
        _escape(args[0], double_fork=False, clear_environment=mode == "clean")
        _await_file(args[0])
        print("escaped", flush=True)
        time.sleep(300)
    elif mode == "clean-exit":
        _escape(args[0], double_fork=False, clear_environment=True)
        _await_file(args[0])
        print("escaped", flush=True)
        time.sleep(1)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
