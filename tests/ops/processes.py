"""Real processes for the operations tests: start a command, keep every output line, wait for one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path


class LoggedProcess:
    """A child process whose output (stdout + stderr) is read on a thread into `lines`."""

    def __init__(self, args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            list(args),
            env=env,
            cwd=cwd,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: honcho's children are stopped with it
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_line(self, pattern: str, timeout: float = 240.0, count: int = 1) -> list[re.Match[str]]:
        """Wait until `count` output lines match `pattern`; fail with the output tail otherwise."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in (regex.search(line) for line in list(self.lines)) if m]
            if len(found) >= count:
                return found
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} line(s) matching {pattern!r}; output tail:\n" + "".join(self.lines[-40:]))

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine or container dies."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM to the whole process group, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
            except ProcessLookupError:
                pass


def deskhand(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]
