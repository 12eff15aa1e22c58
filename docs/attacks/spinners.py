# Hostile cell: 60 setsid spinners (each its own session, so its own autogroup where the
# kernel groups CPU time by session), then the notebook keeps its run alive for a while.
import os, time
for _ in range(60):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid()
        while True:
            pass
time.sleep(25)
