"""Bootstrap of the sandbox, run as ``python -I -c <this file's text>``: reads the job from
stdin and makes the modules it carries (``job["modules"]``: dotted name -> source, packages
first, each module after those it imports) importable under their own names, so nothing of
the project is read from disk inside the sandbox; then runs the ``main(job, started)`` of the
module ``job["entry"]`` names (default ``neurograder.inside.main``; the render pass ships and
names its own)."""

import json
import sys
import time
import types


def install(modules):
    """Create each module from its source, in order, under its dotted name."""
    for name, source in modules:
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


if __name__ == "__main__":
    started = time.monotonic()
    job = json.loads(sys.stdin.buffer.read())
    install(job.pop("modules"))
    sys.modules[job.pop("entry", "neurograder.inside.main")].main(job, started)
