# A service of the machine reached through its Unix socket, by path: Landlock does not confine
# connect() (nor sendto() on a datagram socket). Every socket bound on the machine is listed in
# /proc/self/net/unix (readable: the worker's own /proc entry). With the grader's own user
# (DLHW_SANDBOX=same-user, not root) that is its systemd user manager (/run/user/UID/systemd/
# private, /run/user/UID/bus: StartTransientUnit runs any command, outside the allow-list),
# ssh-agent, gpg-agent, Docker; with a sandbox uid, what is writable by all (X11, D-Bus).
# A stand-in service, as root:  python3 -c 'import socket,os; s=socket.socket(socket.AF_UNIX);
#   s.bind("/run/dlhw-svc.sock"); os.chmod("/run/dlhw-svc.sock",0o777); s.listen();
#   c=s.accept()[0]; print(c.recv(99)); c.sendall(b"ran it")'
import socket

paths = [line.split()[-1] for line in open("/proc/self/net/unix").read().splitlines()[1:]]
for path in [p for p in paths if p.startswith("/")][:20]:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        s.sendall(b"run this for me")
        print("US", path, "REACHED", s.recv(100))
    except OSError as e:
        print("US", path, "REFUSED", type(e).__name__, e.errno)
