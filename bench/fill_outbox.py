"""Fill the outbox with N queued messages for profile "bench" (for the flush case)."""

import sys

from tui.core.message import Draft, compose, prepare
from tui.core.outbox import Outbox

count = int(sys.argv[1])
box = Outbox()
for index in range(count):
    draft = Draft(to=(f"r{index}@example.org",), subject=f"Queued {index}", body="Hello again.\n")
    box.queue(prepare(compose("bench@example.org", draft)), "bench", sync=False)
