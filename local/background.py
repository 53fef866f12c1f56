"""A daemon thread that runs `_run` until `stop()`: the shape of every local stand-in for an AWS service."""
from __future__ import annotations

import threading


class Background:
    def __init__(self, name: str):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError
