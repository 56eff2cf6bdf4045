"""Atomic, private file writes: a crash leaves the old file or the new one, never half of one.

And the lock that lets several mailtui processes read, change and write one file in turn.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tui.core.locations import ensure_private_dir


def write_private(path: Path, data: bytes, sync: bool = True) -> None:
    """Write `data` to `path` atomically (temporary file, fsync, rename), mode 0600.

    The folder is created 0700 if missing. On any error the temporary file is
    removed and the previous content of `path`, if any, is left untouched. Without
    `sync` the rename is still atomic, but a power cut may lose the newest version.
    """
    ensure_private_dir(path.parent)
    tmp_name = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if sync:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive `flock` on the lock file `path` (created 0600) for the `with` body.

    Every process that changes the guarded file takes this lock first, so read-change-write
    sequences never interleave. Raises TimeoutError when another process holds the lock for
    more than `timeout` seconds (a stopped process must not hang this one), OSError when the
    lock file cannot be opened. The lock file stays: removing it would let two processes
    lock two different files.
    """
    import fcntl  # POSIX only, like the rest of the data folder's handling

    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{path} is locked by another process") from None
                time.sleep(0.002)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def try_lock(path: Path, create: bool = True) -> int | None:
    """An exclusive flock on `path` without waiting: its descriptor (closing it lets go), or
    None when another holder has it (or, without `create`, when there is no such file)."""
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        # Its last holder may have removed the file between our open and flock: then this
        # lock guards nothing, and a new file is needed.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
        if not create:
            return None
