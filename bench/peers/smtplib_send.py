"""The plainest way to send from Python: smtplib, one message, optional attachment."""

import mimetypes
import smtplib
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

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
with smtplib.SMTP(host, int(port)) as smtp:
    smtp.send_message(message)
