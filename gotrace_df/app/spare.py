"""A kernel process started with the server, before the server imports voila:
it imports what the viewer's kernel needs (ipykernel, the widgets, pandas,
pyarrow: about 0.8 s of CPU) while voila starts, then becomes the first
kernel voila launches (:class:`gotrace_df.app.server.SpareKernel` hands it
the launch). On a machine with a few cores that takes the kernel's start
off the path to the first page.

    python -P -m gotrace_df.app.spare kernel-ID.json  # started by the server

The argument names the connection file of the kernel it will be. The line
on standard input is the launch, as JSON: ``argv`` (``python -m
ipykernel_launcher -f DIR/kernel-ID.json``), ``env`` (the kernel's whole
environment) and ``cwd``. The process then is that kernel, as if started
with that command: the same environment, directory and ``sys.path``, its
standard input ``/dev/null`` (jupyter_client closes a kernel's). At end of
input (the server stopped, or launched no kernel) it exits.
"""

from __future__ import annotations

import json
import os
import runpy
import sys

__all__ = ["LAUNCHER", "main"]

#: The module the kernel command runs (``python -m ipykernel_launcher``).
LAUNCHER = "ipykernel_launcher"


def main() -> int:
    # What the viewer notebook's kernel imports first, done before the launch:
    # ipykernel, with its debugger (debugpy: ~0.1 s of CPU as a kernel starts).
    import ipykernel.debugger  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401

    from gotrace_df.app import page  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    launch = json.loads(line)
    if os.path.basename(launch["argv"][-1]) != sys.argv[1]:
        raise SystemExit(f"gotrace_df.app.spare: launched as another kernel than {sys.argv[1]}")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(launch["cwd"])
    os.environ.clear()
    os.environ.update(launch["env"])
    # As `python -m ipykernel_launcher` starts: the directory first on the
    # path (the launcher takes it out while ipykernel loads), the arguments.
    sys.path.insert(0, os.getcwd())
    sys.argv = [LAUNCHER, *launch["argv"][3:]]
    runpy.run_module(LAUNCHER, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
