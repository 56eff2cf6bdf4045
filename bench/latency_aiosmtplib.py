"""The bare aiosmtplib peer of the latency case: N messages over one connection.

python bench/latency_aiosmtplib.py HOST PORT SENDER RCPT[,RCPT…] COUNT [CA_FILE USER PASSWORD_FILE]
"""

import asyncio
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import aiosmtplib


async def main(password: str | None) -> None:
    host, port, sender, rcpts, count = sys.argv[1:6]
    ca_file, user = ([*sys.argv[6:8], None, None])[:2]
    client = aiosmtplib.SMTP(
        hostname=host,
        port=int(port),
        start_tls=bool(ca_file),
        cert_bundle=ca_file,
        username=user,
        password=password,
    )
    async with client:
        for index in range(int(count)):
            message = EmailMessage(policy=SMTP)
            message["From"], message["To"] = sender, rcpts
            message["Subject"] = f"Latency {index}"
            message.set_content("Hello over a slow link.\n")
            await client.send_message(message)


secret = Path(sys.argv[8]).read_text().strip() if len(sys.argv) > 8 else None
asyncio.run(main(secret))
