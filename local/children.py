"""Child processes of the embedded stack die with it. `make run` is one process tree: whether it ends by
Ctrl-C, by a crash or by `kill -9`, no DynamoDB Local, moto or API process may outlive it holding its
ports (the next `make run` could not start)."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For subprocess.Popen(preexec_fn=…): the kernel sends SIGKILL to the child when its parent ends.
    (Linux only; elsewhere the watchdog below is the guard.) Call it only from a thread that lives as
    long as the process: the signal fires when the *thread* that forked ends."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def stop(process) -> None:
    """End a subprocess politely (SIGTERM), then for sure (SIGKILL) if it has not gone in 10 seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def watch_parent(interval: float = 0.5) -> None:
    """In a Python child: exit as soon as the process that started it is gone (re-parented)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def quiet_interrupts() -> None:
    """Ctrl-C reaches the whole process group; the parent decides how its children stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
