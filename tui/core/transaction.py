"""One mail transaction on an open session (RFC 5321, 3.3): MAIL FROM, RCPT TO, then DATA
with the message dot-stuffed; or, for a check, the envelope alone followed by RSET.

The end of data is the point of no return: the journal (the outbox) hears of it, durably,
before the final dot leaves, and hears of the server's acceptance at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence

import aiosmtplib

from tui.core.cancelling import stop_if_cancelled
from tui.core.message import Dsn, Prepared
from tui.core.profiles import Profile
from tui.core.reporter import Reporter
from tui.core.reports import Journal, MessageReport, Stop
from tui.core.results import Failure, RecipientResult
from tui.core.smtp_client import TracingSMTP
from tui.core.transcript import Mark

CHUNK_SIZE = 64 * 1024


async def reset(smtp: TracingSMTP) -> None:
    """RSET, whose failure changes nothing: the next step finds out if the connection broke."""
    with contextlib.suppress(aiosmtplib.SMTPException):
        await smtp.execute_command(b"RSET")


class MailTransaction:
    """The mail transactions of one session over `smtp`, one message at a time, reported to
    `reporter`; each refusal or broken exchange raises Stop with its failure."""

    def __init__(
        self,
        smtp: TracingSMTP,
        reporter: Reporter,
        profile: Profile,
        journal: Journal | None,
    ) -> None:
        self.smtp = smtp
        self.reporter = reporter
        self.profile = profile
        self.journal = journal

    async def send(
        self, prepared: Prepared, current: MessageReport, index: int, reset_first: bool = False
    ) -> None:
        """Send one message (after RSET when `reset_first`: the one before it on this
        connection); raises Stop with its failure when it is not accepted. With PIPELINING
        the envelope goes in one write, with the message itself when CHUNKING allows."""
        smtp = self.smtp
        reason = unsendable(prepared, smtp.supports_extension)
        if reason is not None:  # never changed behind the person's back: refused, said why
            self.reporter.emit(Mark.ERROR, reason)
            raise Stop(Failure("mail", error="input", detail=reason))
        size = prepared.size
        current.size = size
        limit = smtp.esmtp_extensions.get("size", "")
        if limit.isdigit() and int(limit) and size > int(limit):
            # The server said only its SIZE: the failure carries no reply it never sent.
            reason = (
                f"the server accepts at most {int(limit):,} bytes (its SIZE); this message is "
                f"{size:,} bytes"
            )
            self.reporter.emit(Mark.ERROR, reason)
            raise Stop(Failure("size", error="too-large", detail=reason))
        if smtp.pipelining:
            from tui.core.pipelining import send_pipelined

            went = await send_pipelined(self, prepared, current, index, reset_first)
            if went == "envelope":
                await self._all_or_nothing(prepared, current)
                await self._data_command()
            if went != "sent":
                await self._data(prepared, current, index)
            current.accepted = True
            if self.journal is not None:
                self.journal.accepted(index, current)
            return
        if reset_first:
            await reset(smtp)
        await self._envelope(
            current, prepared.sender, prepared.recipients, size, prepared.smtputf8, prepared.dsn
        )
        await self._all_or_nothing(prepared, current)
        await self._data_command()
        await self._data(prepared, current, index)
        current.accepted = True
        if self.journal is not None:
            self.journal.accepted(index, current)

    async def _all_or_nothing(self, prepared: Prepared, current: MessageReport) -> None:
        """For a message that goes to every recipient or to none: RSET and Stop when one
        was refused."""
        taken = sum(r.code in (250, 251) for r in current.recipients)
        if not prepared.whole or taken == len(prepared.recipients):
            return
        refused = max(
            (r for r in current.recipients if r.code not in (250, 251)), key=lambda r: r.code
        )
        self.reporter.emit(
            Mark.INFO,
            "a recipient was refused: the message goes to all of them or to none, so "
            "nothing was sent",
        )
        await reset(self.smtp)
        raise Stop(Failure("rcpt", code=refused.code, text=refused.text, recipient=refused.address))

    async def check(self, current: MessageReport, rcpts: list[str]) -> None:
        """MAIL and RCPT for the profile's sender, then RSET: would these recipients be taken?"""
        from tui.core.message import parse_mailbox

        sender = parse_mailbox(self.profile.from_, "from").ascii_addr_spec()
        await self._envelope(current, sender, rcpts or [sender], None, False)
        await reset(self.smtp)

    async def _envelope(
        self,
        current: MessageReport,
        sender: str,
        rcpts: Sequence[str],
        size: int | None,
        smtputf8: bool,
        dsn: Dsn | None = None,
    ) -> list[str]:
        """MAIL FROM and RCPT TO; returns the accepted recipients, raising if none is."""
        smtp = self.smtp
        started = time.perf_counter()
        options, rcpt_options = self.options(dsn, size, smtputf8)
        mail = await self.reporter.command(
            "mail", smtp.execute_command(b"MAIL", f"FROM:<{sender}>".encode(), *options)
        )
        if mail.code != 250:
            raise Stop(Failure("mail", code=mail.code, text=mail.message))
        accepted: list[str] = []
        last: RecipientResult | None = None
        for rcpt in rcpts:
            reply = await self.reporter.command(
                "rcpt", smtp.execute_command(b"RCPT", f"TO:<{rcpt}>".encode(), *rcpt_options)
            )
            # Kept as the server sent it (already scrubbed of secrets): escaped when shown.
            last = RecipientResult(rcpt, reply.code, reply.message)
            current.recipients.append(last)
            if reply.code in (250, 251):
                accepted.append(rcpt)
        self.reporter.timed("envelope", started)
        if not accepted:
            assert last is not None
            await reset(self.smtp)
            raise Stop(self.refused(current))
        return accepted

    def options(
        self, dsn: Dsn | None, size: int | None, smtputf8: bool
    ) -> tuple[list[bytes], list[bytes]]:
        """The parameters of MAIL FROM and of each RCPT TO, as far as the server offers them."""
        smtp = self.smtp
        options: list[bytes] = []
        if size is not None and smtp.supports_extension("size"):
            options.append(f"SIZE={size}".encode())
        if smtputf8:
            options.append(b"SMTPUTF8")
        if smtp.supports_extension("8bitmime"):
            options.append(b"BODY=8BITMIME")
        rcpt_options: list[bytes] = []
        if dsn is not None and smtp.supports_extension("dsn"):  # else not passed: RFC 3461
            if dsn.ret:
                options.append(f"RET={dsn.ret}".encode())
            if dsn.envid:
                options.append(b"ENVID=" + xtext(dsn.envid))
            if dsn.notify:
                rcpt_options.append(f"NOTIFY={dsn.notify}".encode())
        return options, rcpt_options

    @staticmethod
    def refused(current: MessageReport) -> Failure:
        """The failure of a message none of whose recipients was accepted."""
        refused = max(current.recipients, key=lambda r: r.code)  # permanent over temporary
        return Failure("rcpt", code=refused.code, text=refused.text, recipient=refused.address)

    async def end_of_data(self, index: int) -> None:
        """Tell the journal, durably, that the end of message `index` is about to leave; a
        failure to record it stops the message before its end (not sent)."""
        assert self.journal is not None
        try:
            await self.journal.end_of_data(index)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.reporter.emit(Mark.ERROR, f"stopped before the end of the message: {reason}")
            raise Stop(Failure("data", error="local-io", detail=reason)) from None

    async def _data_command(self) -> None:
        reply = await self.reporter.command("data", self.smtp.execute_command(b"DATA"))
        if reply.code != 354:
            raise Stop(Failure("data", code=reply.code, text=reply.message))

    async def _data(self, prepared: Prepared, current: MessageReport, index: int) -> None:
        """The message after DATA's 354, dot-stuffed, and the reply to its end."""
        from tui.core.transcript import human_size

        smtp = self.smtp
        started = time.perf_counter()
        protocol = smtp.protocol
        assert protocol is not None
        mark = Mark.CLIENT_TLS if smtp.in_tls else Mark.CLIENT
        total = prepared.size
        lines = prepared.lines
        if lines is None:
            lines = await asyncio.to_thread(
                lambda: sum(block.count(b"\n") for block in prepared.blocks())
            )
        self.reporter.emit(mark, f"[message: {human_size(total)}, {lines:,} lines]")
        self.reporter.state("sending", 0.0)
        # Read the final reply concurrently, so a server that answers early is heard.
        reader = asyncio.ensure_future(protocol.read_response(timeout=None))
        try:
            sent, last_reported = 0, -1
            for chunk in _dot_stuffed(prepared.blocks(CHUNK_SIZE)):
                if reader.done():
                    break
                protocol.write(chunk)
                await asyncio.wait_for(smtp.drain(), self.profile.timeout)
                stop_if_cancelled()  # on 3.11 wait_for can drop a Ctrl-C (cancelling.py)
                sent = min(total, sent + len(chunk))
                percent = int(sent * 100 / total) if total else 100
                if percent != last_reported:
                    last_reported = percent
                    self.reporter.state("sending", sent / total if total else 1.0)
            else:
                if self.journal is not None:
                    try:  # "end of data sent" is on disk before the dot leaves
                        await self.end_of_data(index)
                    except Stop:
                        reader.cancel()
                        raise
                # Let a close that is already on its way be seen first: a message whose end
                # never left is "not sent", not "outcome unknown".
                await asyncio.sleep(0)
                if not reader.done():
                    protocol.write(b".\r\n")
                    current.end_sent = True
            final = await asyncio.wait_for(asyncio.shield(reader), self.profile.timeout)
        except (TimeoutError, aiosmtplib.SMTPException, ConnectionError) as exc:
            reader.cancel()
            if current.end_sent:
                self.reporter.emit(
                    Mark.ERROR, "no reply after the end of the message: the outcome is unknown"
                )
                raise Stop(Failure("data-end", error="unknown-outcome")) from None
            raise Stop(self.reporter.failure_of("data", exc)) from None
        self.reporter.timed("data", started)
        final = self.reporter.server_reply(final, smtp.in_tls)
        if not current.end_sent:
            # The server answered before the end of the message: it did not get it whole,
            # whatever it says, and the connection is out of step.
            smtp.close()
            if 200 <= final.code < 300:
                self.reporter.emit(
                    Mark.ERROR, "the server said it accepted the message before its end"
                )
                raise Stop(
                    Failure("data", error="early-reply", code=final.code, text=final.message)
                )
            raise Stop(Failure("data", error="early-refusal", code=final.code, text=final.message))
        if final.code != 250:
            raise Stop(Failure("data", code=final.code, text=final.message))
        self.reporter.state("sent", 1.0)


def _dot_stuffed(blocks: Iterable[bytes]) -> Iterable[bytes]:
    """The message as it goes on the wire after DATA: leading dots doubled, ending in CRLF.

    The message was built with CRLF line endings; a block may end mid-line, so whether the
    next one starts a line is carried over.
    """
    at_line_start = True
    last = b"\n"
    for block in blocks:
        if not block:
            continue
        if at_line_start and block.startswith(b"."):
            block = b"." + block
        block = block.replace(b"\n.", b"\n..")
        at_line_start = block.endswith(b"\n")
        last = block[-1:]
        yield block
    if last != b"\n":
        yield b"\r\n"


def unsendable(prepared: Prepared, offers: Callable[[str], bool]) -> str | None:
    """Why the server (whose extensions `offers` tells) cannot take `prepared` as it is, or
    None. A message is never rewritten to fit: the person decides."""
    if prepared.smtputf8 and not offers("smtputf8"):
        address = prepared.non_ascii_address()
        if not address.rpartition("@")[0].isascii():
            return (
                f"{address} has non-ASCII characters before the @ and the server does not "
                "support SMTPUTF8; use an ASCII address"
            )
        return (
            "the message's header has non-ASCII (UTF-8) text and the server does not support "
            "SMTPUTF8; encode the header (RFC 2047, as mail programs do) or send with a "
            "profile whose server offers SMTPUTF8"
        )
    if prepared.eight_bit and not offers("8bitmime"):
        return (
            "the message has 8-bit text and the server does not offer 8BITMIME; have the mail "
            "program encode it (quoted-printable or base64), or send with a profile whose "
            "server offers 8BITMIME"
        )
    return None


def xtext(text: str) -> bytes:
    """RFC 3461's xtext: "+", "=" and anything outside 33-126 as +XX."""
    return b"".join(
        bytes([c]) if 33 <= c <= 126 and c not in (43, 61) else f"+{c:02X}".encode()
        for c in text.encode("utf-8")
    )
