"""A full disk on demand: a tiny tmpfs mounted on a folder and filled to the last byte.

Mounting needs root (CAP_SYS_ADMIN); where it is not permitted the test is skipped with the
reason, and the tests that do not need a mount (a path through a regular file, /dev/full)
still cover the same code.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def full_folder(folder: Path) -> Iterator[Path]:
    """Mount a 64 KiB tmpfs on `folder` (created if missing), fill it, unmount afterwards.

    Creating a file there still works (tmpfs has inodes to spare); writing to it fails with
    ENOSPC, as on a disk that filled up during a send.
    """
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here for a real ENOSPC: {done.stderr.strip()}")
    try:
        _fill(folder / "filler")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 4096
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    finally:
        os.close(fd)
    with pytest.raises(OSError) as caught:
        probe = os.open(path.parent / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(probe, b"x")
        finally:
            os.close(probe)
    assert caught.value.errno == errno.ENOSPC
