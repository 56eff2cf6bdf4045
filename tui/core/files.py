"""Atomic, private file writes: a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
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
