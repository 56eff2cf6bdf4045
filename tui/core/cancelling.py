"""A cancellation that Python 3.11's `asyncio.wait_for` dropped, raised again.

On 3.11, `wait_for` returns the result, and drops the cancellation, when its task is
cancelled in the loop iteration where the awaited operation finished (python/cpython#86296;
3.12 rebuilt `wait_for` on `asyncio.timeout`). aiosmtplib waits for its connection and for
every reply that way, and dnspython for its answers: a Ctrl-C at that moment was lost, and
`mailtui send` waited for the server's greeting until its timeout. The task still counts the
cancellation (`Task.cancelling()`), so the next check raises it again.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError in a task that was asked to stop and is going on regardless."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
