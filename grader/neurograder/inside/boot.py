"""Bootstrap of the sandbox, run as ``python -I -c <this file's text>``: reads the job from
stdin and makes the modules it carries (``job["modules"]``: dotted name -> source, packages
first, each module after those it imports) importable under their own names, so nothing of
the project is read from disk inside the sandbox; then runs the ``main(job, started)`` of the
module ``job["entry"]`` names (default ``neurograder.inside.main``; the render pass ships and
names its own).

Before it reads the job it imports NumPy (one BLAS thread) and ctypes, which every job needs:
a sandbox started ahead of its job (``neurograder.launch.Spare``) has them ready when the job
arrives. Nothing of the job, and no student code, exists in the process before the read."""

import json
import os
import sys
import time
import types


#: dotted name -> source of every module installed so far
installed = {}


def install(modules):
    """Create each module from its source, in order, under its dotted name."""
    for name, source in modules:
        installed[name] = source
        mod = types.ModuleType(name)
        mod.__package__ = name if source is None else name.rpartition(".")[0]
        if source is None:  # a package: only a namespace for its modules
            mod.__path__ = []
        sys.modules[name] = mod
        if source is not None:
            exec(compile(source, "<%s>" % name, "exec"), mod.__dict__)
        parent, _, leaf = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], leaf, mod)


def warm_up():
    """Import what every job needs."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # read by the BLAS when NumPy loads
    import ctypes  # noqa: F401
    import numpy  # noqa: F401


if __name__ == "__main__":
    warm_up()
    data = sys.stdin.buffer.read()  # a sandbox started ahead of its job waits here
    started = time.monotonic()  # the job's clock starts when the job arrives
    job = json.loads(data)
    install(job.pop("modules"))
    sys.modules[job.pop("entry", "neurograder.inside.main")].main(job, started)
