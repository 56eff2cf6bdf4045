"""The same with aiosmtplib, as a person would write it: build the message, send it."""

import asyncio
import sys
from email.message import EmailMessage

import aiosmtplib

host, port, sender, rcpt, subject, body_file = sys.argv[1:7]
message = EmailMessage()
message["From"], message["To"], message["Subject"] = sender, rcpt, subject
with open(body_file) as body:
    message.set_content(body.read())
for name in sys.argv[7:]:  # case 3: an attachment
    with open(name, "rb") as attachment:
        message.add_attachment(
            attachment.read(), "application", "octet-stream", filename=name.rsplit("/", 1)[-1]
        )
asyncio.run(aiosmtplib.send(message, hostname=host, port=int(port)))
