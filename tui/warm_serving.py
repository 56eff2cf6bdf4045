"""The warm side of `mailtui-sendmail` (tui/warm.py says why): the process that stays after
a cold start, and the one it forks for each message handed over.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

from tui.warm import FORWARDED, PIECE, Frames, socket_path

if TYPE_CHECKING:
    from tui.core.profiles import Profile


def linger() -> None:
    """After a cold start has sent its message: fork the warm process, unless config.toml
    says not to, or the process cannot be copied safely (a thread still running). Its
    socket is listening before this returns: the caller's next call finds it."""
    import threading

    from tui.core.config import ConfigError, load_config

    try:
        seconds = float(load_config().sendmail_linger)
    except ConfigError:
        return
    path = socket_path()
    if seconds <= 0 or path is None or threading.active_count() > 1:
        return
    listener = _listen(path)
    if listener is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() != 0:
        listener.close()  # the warm process has it; should it die, callers are refused
        return
    try:
        os.setsid()  # out of the caller's terminal and process group
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the caller waits for these to close, not for this process
            os.dup2(null, fd)
        os.close(null)
        _serve(listener, path, seconds)
    finally:
        os._exit(0)


def _listen(path: str) -> socket.socket | None:
    """A socket listening at `path`, unless a live warm process already does."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    own = f"{path}.{os.getpid()}"
    try:
        listener.bind(own)
        listener.listen(16)
        taken = _take_name(own, path)
    except OSError:  # a path too long, a full disk: this call stays cold
        taken = False
    _unlink(own)
    if not taken:
        listener.close()
        return None
    return listener


def _serve(listener: socket.socket, path: str, seconds: float) -> None:
    import gc

    mine = os.stat(path).st_ino
    try:
        gc.freeze()  # what a message needs is loaded: shared with each fork, not copied
        for each in FORWARDED:
            signal.signal(each, signal.SIG_DFL)
        listener.settimeout(seconds)  # idle this long: gone
        while True:
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                return
            with conn:
                if _peer_uid(conn) == os.getuid() and os.fork() == 0:
                    listener.close()
                    try:
                        conn.settimeout(None)
                        _send_one(Frames(conn))
                    finally:
                        os._exit(0)
            _reap()
    finally:
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == mine:  # not a successor's
                os.unlink(path)
        listener.close()


def _take_name(own: str, path: str) -> bool:
    """Listen at `path`, unless a live warm process already does (then this one leaves)."""
    for _try in range(2):
        try:
            os.link(own, path)
            return True
        except FileExistsError:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                return False  # alive: it serves
            except OSError:
                _unlink(path)  # left by a process that was killed
            finally:
                probe.close()
        except OSError:
            return False
    return False


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


class NeedsTerminal(Exception):
    """The profile asks for a password and the caller has a terminal to type it on."""


def _send_one(frames: Frames) -> None:
    """One call, in a process of its own: as `mailtui sendmail` would run it."""
    from tui.core.sendmail import MAX_MESSAGE, UsageError, parse_options
    from tui.sendmail_cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)
    frames.write(b"h", str(os.getpid()).encode())
    first = frames.read()
    if first is None or first[0] != b"a":
        return
    terminal, args = first[1][:1] == b"1", [os.fsdecode(a) for a in first[1][1:].split(b"\0")]
    args = [] if args == [""] else args
    try:
        action = parse_options(args).action
    except UsageError:
        action = "usage"
    if action == "flush":  # it may ask for several passwords: the caller's own work
        frames.write(b"c")
        return
    stdin: BinaryIO = io.BytesIO()
    if action in ("send", "queue"):
        frames.write(b"r", str(MAX_MESSAGE).encode())
        stdin = io.BufferedReader(_Message(frames), PIECE)

    def prompt(profile: Profile) -> str | None:
        if terminal:
            raise NeedsTerminal
        return None

    out = io.TextIOWrapper(io.BufferedWriter(_Out(frames, b"o")), line_buffering=True)
    err = io.TextIOWrapper(io.BufferedWriter(_Out(frames, b"e")), line_buffering=True)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args, stdin=stdin, prompt=prompt)
            out.flush()
            err.flush()
    except NeedsTerminal:
        frames.write(b"c")
        return
    frames.write(b"x", str(code).encode())


class _Message(io.RawIOBase):
    """The message as the caller hands it over. The connection's end before the message's
    is an error, so that a caller killed half-way sends nothing."""

    def __init__(self, frames: Frames) -> None:
        self.frames, self.pending, self.ended = frames, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending and not self.ended:
            frame = self.frames.read()
            if frame is None or frame[0] != b"b":
                raise ConnectionError("the calling program went away while handing it over")
            self.pending, self.ended = frame[1], not frame[1]
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


class _Out(io.RawIOBase):
    """Standard output or error of the sending process, to the caller."""

    def __init__(self, frames: Frames, kind: bytes) -> None:
        self.frames, self.kind = frames, kind

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        # A caller gone: what became of the message is in the history all the same.
        with contextlib.suppress(OSError):
            self.frames.write(self.kind, data)
        return len(data)
