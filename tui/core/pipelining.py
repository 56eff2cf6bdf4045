"""A mail transaction as one pipelined group (RFC 2920): the envelope, and DATA or the whole
message as `BDAT <size> LAST` (RFC 3030 CHUNKING), in one write; the replies read in order.

On a slow link each wait for the server is a round trip: a small message goes in one, where
one command at a time takes five or more. What makes the outcome certain does not change:
the message is accepted only by the reply to its end of data, the outbox hears of the end
of data before it leaves, and a group cut off after that is "outcome unknown".
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from tui.core.reports import MessageReport, Stop
from tui.core.results import Failure, RecipientResult
from tui.core.smtp_client import UnexpectedReply
from tui.core.transcript import Mark, human_size

if TYPE_CHECKING:
    from tui.core.message import Prepared
    from tui.core.transaction import MailTransaction

# A message up to this size goes whole, as one BDAT LAST, with its envelope; a larger one
# goes after its envelope's replies, by DATA, streamed from its file.
WHOLE_CHUNK = 1024 * 1024


async def send_pipelined(
    transaction: MailTransaction,
    prepared: Prepared,
    current: MessageReport,
    index: int,
    reset_first: bool,
) -> str:
    """Send the envelope of `prepared` (after RSET when `reset_first`) in one group, with
    the message itself as BDAT LAST when the server offers CHUNKING and the message is small
    and not all-or-nothing, else with DATA unless all-or-nothing. Returns whether the
    message went with the group: "sent" (accepted; else Stop was raised), "data" (DATA was
    answered 354: the message follows) or "envelope" (the envelope was accepted: DATA
    follows)."""
    smtp = transaction.smtp
    reporter = transaction.reporter
    size = prepared.size
    options, rcpt_options = transaction.options(prepared.dsn, size, prepared.smtputf8)
    bdat = smtp.chunking and not prepared.whole and size <= WHOLE_CHUNK
    data = not bdat and not prepared.whole
    body = b"".join(prepared.blocks(WHOLE_CHUNK)) if bdat else b""
    if bdat and transaction.journal is not None:
        await transaction.end_of_data(index)  # on disk before the end of the message leaves
    stages: list[str] = []
    if reset_first:
        stages.append("rset")
    stages += ["mail"] + ["rcpt"] * len(prepared.recipients)
    last = " and BDAT LAST (the message)" if bdat else (" and DATA" if data else "")
    reporter.emit(
        Mark.INFO,
        f"pipelining{' RSET,' if reset_first else ''} MAIL, {len(prepared.recipients)} RCPT"
        f"{last} in one write; the replies follow in order",
    )
    started = time.perf_counter()
    await asyncio.sleep(0)  # a close already on its way is seen first: nothing left then
    if not smtp.is_connected:  # a 421 closed it after the message before
        closed = aiosmtplib.SMTPServerDisconnected("the server closed the connection")
        raise Stop(reporter.failure_of("mail", closed))
    if reset_first:
        smtp.queue(b"RSET")
    smtp.queue(b"MAIL", f"FROM:<{prepared.sender}>".encode(), *options)
    for rcpt in prepared.recipients:
        smtp.queue(b"RCPT", f"TO:<{rcpt}>".encode(), *rcpt_options)
    if bdat:
        smtp.queue(b"BDAT", str(len(body)).encode(), b"LAST", payload=body)
        mark = Mark.CLIENT_TLS if smtp.in_tls else Mark.CLIENT
        lines = prepared.lines if prepared.lines is not None else body.count(b"\n")
        reporter.emit(mark, f"[message: {human_size(size)}, {lines:,} lines]")
        stages.append("bdat")
    elif data:
        smtp.queue(b"DATA")
        stages.append("data")
    current.size = size
    smtp.flush()
    if bdat:
        current.end_sent = True
        reporter.state("sending", 1.0)

    replies = await _replies(transaction, stages, current)
    reporter.timed("envelope", started)
    stage_replies = list(zip(stages, replies, strict=True))
    mail = next(reply for stage, reply in stage_replies if stage == "mail")
    accepted: list[str] = []
    for rcpt, (_stage, reply) in zip(
        prepared.recipients, [p for p in stage_replies if p[0] == "rcpt"], strict=True
    ):
        current.recipients.append(RecipientResult(rcpt, reply.code, reply.message))
        if reply.code in (250, 251):
            accepted.append(rcpt)
    final = replies[-1]
    if bdat:
        if final.code == 250 and mail.code == 250 and accepted:
            reporter.timed("data", started)
            reporter.state("sent", 1.0)
            return "sent"
        if mail.code != 250:
            raise Stop(Failure("mail", code=mail.code, text=mail.message))
        if not accepted:
            raise Stop(transaction.refused(current))
        raise Stop(Failure("data", code=final.code, text=final.message))
    if data and final.code == 354 and (mail.code != 250 or not accepted):
        # A server that takes DATA with no sender or recipient accepted would take whatever
        # follows as a message: nothing more goes on this connection.
        smtp.close()
        reporter.emit(Mark.ERROR, "the server accepted DATA although it refused the envelope")
    if mail.code != 250:
        raise Stop(Failure("mail", code=mail.code, text=mail.message))
    if not accepted:
        raise Stop(transaction.refused(current))
    if data and final.code != 354:
        raise Stop(Failure("data", code=final.code, text=final.message))
    return "data" if data else "envelope"


async def _replies(
    transaction: MailTransaction, stages: list[str], current: MessageReport
) -> list[SMTPResponse]:
    """The group's replies, in order; a broken exchange is the failure of the stage whose
    reply was awaited, or of unknown outcome once the end of the message has left."""
    smtp = transaction.smtp
    reporter = transaction.reporter
    timeout = transaction.profile.timeout
    replies: list[SMTPResponse] = []
    try:
        for stage in stages:
            reply = await smtp.next_reply(timeout)
            replies.append(reply)
            if not _fits(stage, reply.code):
                smtp.close()
                reporter.emit(
                    Mark.ERROR, f"a {reply.code} cannot answer {stage.upper()}: out of step"
                )
                raise UnexpectedReply(f"a {reply.code} in answer to {stage.upper()}")
            if reply.code == 421 and len(replies) < len(stages):
                # The server is closing: the rest of the group will not be answered.
                raise aiosmtplib.SMTPServerDisconnected(f"{reply.code} {reply.message}")
        smtp.refuse_extra_replies()  # more replies than commands: out of step
    except (aiosmtplib.SMTPException, ConnectionError, TimeoutError) as exc:
        if current.end_sent:
            if isinstance(exc, UnexpectedReply):
                reporter.emit(Mark.ERROR, "the server answered more often than it was asked")
            reporter.emit(
                Mark.ERROR, "no reply after the end of the message: the outcome is unknown"
            )
            raise Stop(Failure("data-end", error="unknown-outcome")) from None
        if isinstance(exc, UnexpectedReply):
            stage = _named(stages[len(replies) - 1])
            raise Stop(Failure(stage, error="protocol", detail=str(exc))) from None
        stage = stages[len(replies)] if len(replies) < len(stages) else stages[-1]
        if replies and replies[-1].code == 421:
            last = replies[-1]
            stage = _named(stages[len(replies) - 1])
            raise Stop(Failure(stage, code=last.code, text=last.message)) from None
        raise Stop(reporter.failure_of(_named(stage), exc)) from None
    return replies


def _fits(stage: str, code: int) -> bool:
    """Whether `code` can be the reply to the command of `stage`: a server answering out of
    step (a reply too many, or one missing) shows it in a 354 where none can be, or in a
    2xx to DATA."""
    if code >= 400:
        return True
    return code == 354 if stage == "data" else code != 354


def _named(stage: str) -> str:
    return {"rset": "mail", "bdat": "data"}.get(stage, stage)
