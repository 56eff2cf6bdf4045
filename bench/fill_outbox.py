"""Fill the outbox with N queued messages for profile "bench" (for the flush case).

python bench/fill_outbox.py N [PORT [PROFILE RCPT,RCPT…]]   (PORT is not used)
"""

import sys

from tui.core.message import Draft, compose, prepare
from tui.core.outbox import Outbox

count = int(sys.argv[1])
profile = sys.argv[3] if len(sys.argv) > 3 else "bench"
box = Outbox()
for index in range(count):
    to = tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else (f"r{index}@example.org",)
    draft = Draft(to=to, subject=f"Queued {index}", body="Hello again.\n")
    box.queue(prepare(compose("bench@example.org", draft)), profile, sync=False)
