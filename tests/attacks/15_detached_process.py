"""Start a detached process (new session) that outlives the cell; answer correctly.

cell: task1_leaky_integrator_solution
fails:
plain: outlives
"""
import pathlib
import subprocess
import sys

_child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # neurograder-attack-detached"],
                          start_new_session=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
try:
    pathlib.Path("detached.pid").write_text(str(_child.pid))
except OSError:
    pass


def leaky_integrator(input_data, tau):
    v, out = 0.0, []
    for i in np.asarray(input_data, dtype=float):
        v = v + (i - v) / tau
        out.append(v)
    return np.array(out)
