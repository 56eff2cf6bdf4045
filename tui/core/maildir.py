"""Maildir folders (`tmp/`, `new/`, `cur/`) that mutt or any Maildir reader can open.

A message is written to `tmp/`, flushed to disk, then renamed into `new/`, so a reader or a
crash never sees half a message. Files are 0600, folders 0700.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from tui.core.locations import ensure_private_dir

_counter = itertools.count()
T = TypeVar("T")


def ensure_maildir(folder: Path) -> Path:
    """Create the Maildir's folders 0700; a symbolic link among them is refused."""
    ensure_private_dir(folder)
    for sub in ("tmp", "new", "cur"):
        ensure_private_dir(folder / sub)
    return folder


def _host() -> str:
    """This host's name as Maildir names carry it ('/' and ':' escaped)."""
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072")


def unique_name() -> str:
    """A Maildir file name: time, process and counter, host (with '/' and ':' escaped)."""
    host = _host()
    now = time.time()
    return f"{int(now)}.M{int(now * 1e6) % 1_000_000}P{os.getpid()}Q{next(_counter)}.{host}"


def deliver(folder: Path, data: bytes, name: str | None = None, sync: bool = True) -> Path:
    """Write `data` as a new message in the Maildir `folder`; returns its path in `new/`.

    With an existing `name`, the message in `new/` is replaced atomically. On any error the
    temporary file is removed and whatever was there before stays as it was.
    """
    path, _written = write_with(folder, lambda out: out.write(data), sync=sync, name=name)
    return path


def deliver_file(folder: Path, source: Path, sync: bool = False, name: str | None = None) -> Path:
    """File a copy of the message at `source` into `folder`: a hard link when both are on
    one file system (no bytes copied), else a copy. The source was synced when written.
    `name`, when given, is its Maildir name (the outbox files sent/ copies under theirs)."""
    ensure_maildir(folder)
    name = name or unique_name()
    tmp = folder / "tmp" / name
    try:
        try:
            os.link(source, tmp)
        except OSError:
            import shutil  # only across file systems; shutil is slow to import

            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o600)
            if sync:
                with tmp.open("rb") as handle:
                    os.fsync(handle.fileno())
        final = folder / "new" / name
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def write_with(
    folder: Path, writer: Callable[[BinaryIO], T], sync: bool = True, name: str | None = None
) -> tuple[Path, T]:
    """Write a message into `folder` through `writer` (it streams into the file): tmp/ first,
    flushed to disk, then renamed into new/. Returns the path and the writer's result."""
    ensure_maildir(folder)
    name = name or unique_name()
    tmp = folder / "tmp" / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            result = writer(handle)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        final = folder / "new" / name
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final, result


def _age_key(path: Path) -> tuple[int, int, int, str]:
    """Oldest first: seconds and microseconds of the name as numbers (as text, "M99999"
    would sort after "M100000" of the same second), then its counter; other names last."""
    match = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", path.name)
    if match is None:
        return (2**63, 0, 0, path.name)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)), path.name)


def messages(folder: Path) -> Iterator[Path]:
    """Every message in `new/` and `cur/`, oldest first."""
    found: list[Path] = []
    for sub in ("new", "cur"):
        directory = folder / sub
        if directory.is_dir():
            found.extend(
                p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")
            )
    yield from sorted(found, key=_age_key)


def base_name(path: Path) -> str:
    """The unique part of a Maildir file name (without the ':2,FLAGS' info)."""
    return path.name.split(":", 1)[0]


def find(folder: Path, name: str) -> Path | None:
    return next((p for p in messages(folder) if base_name(p) == name), None)


# Maildir readers delete tmp/ files older than 36 hours; one whose writer (the pid in its
# name) is gone is removed at once.
TMP_MAX_AGE = 36 * 3600.0


def sweep_tmp(folder: Path, now: float | None = None) -> int:
    """Remove files in `folder/tmp` that no live writer holds: older than 36 hours, or left
    by a process of this host that is gone (its pid is in the Maildir name)."""
    tmp = folder / "tmp"
    if not tmp.is_dir() or tmp.is_symlink():
        return 0
    now = time.time() if now is None else now
    host = _host()
    removed = 0
    for path in tmp.iterdir():
        try:
            info = path.lstat()
        except OSError:
            continue
        age = now - info.st_mtime
        match = re.match(r"\d+\.M\d+P(\d+)Q\d+\.(.*)$", path.name)
        orphan = match is not None and match.group(2) == host and not alive(int(match.group(1)))
        if age > TMP_MAX_AGE or orphan:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed


def alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
