"""One writer per scores dataset: an advisory lock file ``_cxml.lock`` in the output directory.

The lock is an ``flock`` on the file (POSIX), so the kernel releases it when the writer dies,
even by SIGKILL; the file also records the writer's pid, host and start time. A second writer
gets :class:`~cxml.OutputExistsError` naming the holder. A lock file left behind by a dead
process on this host is taken over with a :class:`~cxml.CxmlWarning`; one from another host
cannot be checked and is refused (remove it when no writer runs there).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from cxml.exceptions import CxmlWarning, OutputExistsError

__all__ = ["LOCK", "OutputLock"]

LOCK: Final = "_cxml.lock"


class OutputLock:
    """Hold ``root/_cxml.lock`` for the duration of a ``with`` block (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputExistsError(
                    f"{str(self.path.parent)!r} is being written by another process "
                    f"({_describe(_holder(self.path))}); wait for it to finish or choose another out path"
                ) from None
            except OSError as exc:  # a file system without flock (some network mounts)
                warnings.warn(f"cannot lock {str(self.path)!r} ({exc}); make sure no other process writes "
                              "the same output", CxmlWarning, stacklevel=2)
            if not _same_file(fd, self.path):  # the holder removed the file between our open and flock
                os.close(fd)
                continue
            try:
                self._take_over(fd)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        return self

    def _take_over(self, fd: int) -> None:
        previous = _holder(self.path)
        if previous:
            if previous.get("host", socket.gethostname()) != socket.gethostname():
                raise OutputExistsError(
                    f"{str(self.path)!r} was left by a writer on another host ({_describe(previous)}); "
                    "cxml cannot tell whether it still runs — delete the lock file if it does not"
                )
            warnings.warn(f"taking over the stale lock of {str(self.path.parent)!r} left by a dead writer "
                          f"({_describe(previous)}); its committed parts are kept", CxmlWarning, stacklevel=3)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiter then re-checks the file
            os.close(self._fd)
            self._fd = None


def _holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {"unreadable": True}
    return data if isinstance(data, dict) else {"unreadable": True}


def _describe(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return f"lock file {LOCK}"
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino)
