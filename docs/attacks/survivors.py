# Hostile cell: many ways to outlive the run where killing is by uid (no cgroup).
import os, time, signal, ctypes
libc = ctypes.CDLL(None, use_errno=True)
def spawn(body):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                body()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
def sleeper():
    signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        time.sleep(1)
def stopped():
    os.kill(os.getpid(), signal.SIGSTOP); sleeper()
def tracer():
    child = os.fork()
    if child == 0:
        sleeper()
    libc.ptrace(16, child, 0, 0)  # PTRACE_ATTACH: the child stays traced-stopped
    sleeper()
def forker():
    while True:  # a chain: each generation forks the next and exits
        if os.fork() != 0:
            os._exit(0)
        time.sleep(0.05)
def renamed():
    libc.prctl(15, b"kworker/0:1", 0, 0, 0)
    sleeper()
for body in (sleeper, stopped, tracer, forker, renamed):
    spawn(body)
print("spawned")
