import os, glob
def tryread(p, n=120):
    try:
        with open(p, 'rb') as f:
            return repr(f.read(n))
    except Exception as e:
        return 'ERR ' + type(e).__name__
root = os.environ.get("HOME", "")
print("ids", os.getuid(), os.getcwd())
for pat in ["/tmp/nl-gs/*", "/tmp/nl-gs/source/course/*", "/tmp/nl-gs/results/*", "/tmp/nl-gs/submission/*",
            "/tmp/nl-gs/dlhw-venv/lib/python3*/site-packages/dlhw/*", "/tmp/nl-gs/dlhw-venv/lib/python3*/site-packages/*.pth",
            "/tmp/nl-gs/source/course/solutions/*/*", "/tmp/nl-gs/source/course/build/*/*"]:
    for p in glob.glob(pat):
        print("G", p, oct(os.lstat(p).st_mode), tryread(p, 60) if os.path.isfile(p) else "")
for p in ["/tmp/nl-gs/source/course/solutions", "/tmp/nl-gs/submission", "/tmp/nl-gs/results", "/tmp/nl-gs/source/course"]:
    try:
        print("LS", p, os.listdir(p))
    except Exception as e:
        print("LS", p, type(e).__name__)
