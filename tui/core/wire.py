"""Writing a message for the wire straight to a file, attachments streamed in pieces.

A 25 MB attachment is never held in memory as a whole, nor as its 34 MB of base64: the
MIME skeleton is built by the email package around a small stand-in for each attachment,
and each stand-in line is then replaced by the file's base64, read and encoded in pieces.
The result is byte for byte what `EmailMessage.as_bytes()` would give.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import BinaryIO

from tui.core.message import (
    Composed,
    MessageInputError,
    Prepared,
    build_message,
    envelope_address,
)

_PIECE = 57 * 1024  # a multiple of 57 bytes: whole 76-character base64 lines per piece


def write_wire(composed: Composed, out: BinaryIO) -> tuple[int, int]:
    """Write the message to `out`; returns (bytes written, lines written)."""
    smtputf8 = composed.needs_smtputf8
    if not composed.attachments:
        data = build_message(composed, smtputf8=smtputf8, eight_bit=smtputf8).as_bytes()
        out.write(data)
        return len(data), data.count(b"\n")
    import tempfile  # with shutil, slow to import: only messages with attachments need it

    stand_ins: dict[bytes, Path] = {}
    with tempfile.TemporaryDirectory(prefix="mailtui-wire-") as folder:
        placeholders = []
        for index, path in enumerate(composed.attachments):
            token = os.urandom(57)  # encodes to exactly one 76-character base64 line
            stand_in = Path(folder) / str(index) / path.name
            stand_in.parent.mkdir()
            stand_in.write_bytes(token)
            stand_ins[base64.b64encode(token)] = path
            placeholders.append(stand_in)
        skeleton_message = composed._replace(attachments=tuple(placeholders))  # same names
        skeleton = build_message(skeleton_message, smtputf8=smtputf8, eight_bit=smtputf8).as_bytes()
    size = lines = 0
    for line in skeleton.splitlines(keepends=True):
        original = stand_ins.get(line.rstrip(b"\r\n"))
        if original is None:
            out.write(line)
            size += len(line)
            lines += 1
            continue
        # Only opening and reading the attachment is its fault; writing is the outbox's.
        try:
            handle = original.open("rb")
        except OSError as exc:
            raise _unreadable(original, exc) from None
        with handle:
            while True:
                try:
                    piece = handle.read(_PIECE)
                except OSError as exc:
                    raise _unreadable(original, exc) from None
                if not piece:
                    break
                # encodebytes breaks lines at 76 characters in C; SMTP wants CRLF.
                block = base64.encodebytes(piece).replace(b"\n", b"\r\n")
                out.write(block)
                size += len(block)
                lines += block.count(b"\n")
    return size, lines


def _unreadable(path: Path, exc: OSError) -> MessageInputError:
    """An attachment that fails to read: the person's to fix (exit 65), not the outbox's."""
    return MessageInputError(
        "attachment",
        f"the attachment {path} could not be read ({exc.strerror or exc}); check the file, or "
        "attach another copy of it",
    )


def envelope(composed: Composed) -> tuple[str, tuple[str, ...]]:
    smtputf8 = composed.needs_smtputf8
    sender = envelope_address(composed.sender, smtputf8)
    return sender, tuple(envelope_address(m, smtputf8) for m in composed.recipients)


def prepared_file(composed: Composed, path: Path, lines: int) -> Prepared:
    sender, recipients = envelope(composed)
    return Prepared(
        sender=sender,
        recipients=recipients,
        data=b"",
        smtputf8=composed.needs_smtputf8,
        message_id=composed.message_id,
        subject=composed.subject,
        path=path,
        lines=lines,
    )
