"""The same with aiosmtplib: build the message, send it, nothing else."""

import asyncio
import mimetypes
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import aiosmtplib

host, port, sender, rcpt, subject, body_file = sys.argv[1:7]
attachments = sys.argv[7:]
message = EmailMessage(policy=SMTP)
message["From"], message["To"], message["Subject"] = sender, rcpt, subject
message.set_content(Path(body_file).read_text())
for name in attachments:
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    message.add_attachment(
        Path(name).read_bytes(), maintype=maintype, subtype=subtype, filename=Path(name).name
    )
asyncio.run(aiosmtplib.send(message, hostname=host, port=int(port), start_tls=False))
