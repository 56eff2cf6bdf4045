"""A sendmail kept warm: after `mailtui-sendmail` has sent a message it stays for a few
seconds (`sendmail_linger` in config.toml, default 5) on a socket only its user can reach,
and the next call with the same environment hands its message over instead of starting
Python, the SMTP library and the profiles again. git send-email runs its sendmail once per
patch; this is what makes a series cost little more than the patches themselves.

The call that finds no warm process does the work itself, as before, then forks one. The
warm process forks again for each message, so every message is sent by a fresh process of
its own, with the same code, configuration and outcome as a cold start: profiles, config and
the outbox are read anew, and nothing of one message stays for the next. A message is handed
over whole before anything is sent; a caller killed while handing it over sends nothing.
Only the same user, the same program and exactly the same environment and working directory
reach the same warm process (the socket's name is a hash of them), so a changed PATH,
MAILTUI_HOME or password command never meets an older one.

The warm side is tui/warm_serving.py. This module is the caller's side and the protocol,
and so imports nothing a bare interpreter has not loaded but the C modules under socket,
signal, struct and hashlib (the Python modules over them cost ~30 ms of start-up, a third
of a message's time): a call served warm costs little more than the interpreter's start.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs: signal's C module
import _socket
import _struct
import io
import os
import sys

TYPE_CHECKING = False  # typing itself costs start-up; mypy reads the block below all the same
if TYPE_CHECKING:
    from typing import Any, BinaryIO

# One frame: a kind byte and the length of what follows.
_HEAD = _struct.Struct("!cI")
# From the warm side: h (hello: its pid), r (send the message; up to this many bytes),
# c (do it yourself: the message needs a terminal or a flush), o / e (standard output and
# error), x (the exit code). From the caller: a (tty flag and the arguments), b (a piece of
# the message; an empty one ends it).
PIECE = 1 << 20
_HELLO_WAIT = 5.0  # seconds


# What the warm process made of a call: its exit code, or None when the caller is to do the
# work itself, with the message it had already read from standard input (or None).
Served = tuple["int | None", "io.BytesIO | None"]


def _folder() -> str | None:
    """The folder of the sockets, private to this user, or None where there is none safe."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and os.path.isabs(runtime) else "/tmp"
    folder = os.path.join(base, f"mailtui-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    # Someone else's folder, a link, or one others can enter: never used.
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isdir(folder):
        return None
    return folder


def socket_path() -> str | None:
    """Where the warm process for exactly this program, user, environment and working
    directory listens (None: nowhere safe)."""
    folder = _folder()
    if folder is None:
        return None
    digest = _sha256()
    for part in (sys.executable, os.path.dirname(__file__), os.getcwd()):
        digest.update(os.fsencode(part) + b"\0")
    for key, value in sorted(os.environb.items()):
        digest.update(key + b"=" + value + b"\0")
    return os.path.join(folder, digest.hexdigest()[:24] + ".sock")


def _sha256() -> Any:
    try:  # the hash of the C module under hashlib, without OpenSSL's start-up
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python 3.12 and later
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    return sha256()


class Frames:
    """The conversation over the socket: a kind byte, a length, and that many bytes."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock, self.buffer = sock, bytearray()

    def read(self) -> tuple[bytes, bytes] | None:
        """The next frame, or None at the end of the conversation (or a cut one)."""
        head = self._take(_HEAD.size)
        if head is None:
            return None
        kind, size = _HEAD.unpack(head)
        data = self._take(size)
        return None if data is None else (kind, data)

    def _take(self, size: int) -> bytes | None:
        while len(self.buffer) < size:  # a bytearray: a 1 MiB piece is not copied per recv
            piece = self.sock.recv(max(65536, size - len(self.buffer)))
            if not piece:
                return None
            self.buffer += piece
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    def write(self, kind: bytes, data: bytes = b"") -> None:
        self.sock.sendall(_HEAD.pack(kind, len(data)) + data)


# -- the caller's side ----------------------------------------------------------------------


def hand_over(args: list[str]) -> Served:
    """Send through the warm process when there is one; (None, …) when the caller is to."""
    path = socket_path()
    if path is None:
        return (None, None)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return _converse(Frames(sock), args)
    except OSError:
        return None, None
    finally:
        sock.close()


def _converse(frames: Frames, args: list[str]) -> Served:
    stdin = sys.stdin.buffer
    try:
        frames.sock.settimeout(_HELLO_WAIT)  # a warm process stopped (SIGSTOP): start cold
        hello = frames.read()
        frames.sock.settimeout(None)
        if hello is None or hello[0] != b"h":  # it was just leaving
            return (None, None)
        frames.write(b"a", (b"1" if _has_terminal() else b"0") + b"\0".join(map(os.fsencode, args)))
    except OSError:
        return (None, None)
    pid = int(hello[1])
    read = bytearray()
    handing = reading = False

    def forward(signum: int, _frame: Any) -> None:
        # Ctrl-C, a timeout's SIGTERM, a closed terminal: the sending process decides what
        # they mean for the message, as it would in a cold start.
        os.kill(pid, signum)
        if reading:  # stop reading input that the sending process no longer waits for
            raise KeyboardInterrupt

    earlier = {each: _signal.signal(each, forward) for each in FORWARDED}
    try:
        while True:
            try:
                frame = frames.read()
            except OSError:
                frame = None
            if frame is None:
                if not handing:
                    return None, None
                print(
                    "mailtui: the sending process ended before it said how the send went; "
                    "see 'mailtui history' before sending this message again",
                    file=sys.stderr,
                )
                return 74, None  # as sendmail_cli says an unknown outcome: never retried
            kind, data = frame
            if kind == b"r":
                handing = reading = True
                try:  # noqa: SIM105 (contextlib costs start-up)
                    _hand_message(frames, stdin, int(data), read)
                except KeyboardInterrupt:
                    pass  # the sending process was told, and says what became of it
                reading = False
            elif kind in (b"o", b"e"):
                out = sys.stdout if kind == b"o" else sys.stderr
                out.buffer.write(data)
                out.flush()
            elif kind == b"x":
                return int(data), None
            elif kind == b"c":
                return None, io.BytesIO(bytes(read)) if read else None
    finally:
        for each, handler in earlier.items():
            _signal.signal(each, handler)


def _hand_message(frames: Frames, stdin: BinaryIO, limit: int, read: bytearray) -> None:
    """Standard input to the sending process, at most `limit` bytes (one more tells it the
    message is too long), kept here too for the case where the caller must send it. Passed
    on as it comes (a raw read), not held until a buffer fills."""
    while len(read) <= limit:
        piece = os.read(stdin.fileno(), min(PIECE, limit + 1 - len(read)))
        if not piece:
            break
        read += piece
        frames.write(b"b", piece)
    frames.write(b"b")


def _has_terminal() -> bool:
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
