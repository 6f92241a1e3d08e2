import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for line in sys.stdin.read().splitlines():
    name, nr, *args = line.split()
    args += ["0"] * (6 - len(args))
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(int(nr)), *[ctypes.c_long(int(a, 0)) for a in args])
    if rc == 0 and name.startswith("clone"):
        os._exit(0)  # a child: only if the filter let a namespace through
    print(name, ctypes.get_errno() if rc < 0 else "ok", flush=True)
