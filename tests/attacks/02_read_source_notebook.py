"""Read the instructor's source notebook (hidden tests and solutions) from disk and run its
reference leaky_integrator.

cell: task1_leaky_integrator_solution
fails: task1_leaky_integrator_visible task1_leaky_integrator_hidden
plain: fooled
"""
import json
import pathlib


def _steal(name):
    here = pathlib.Path.cwd()
    for base in [here, *here.parents]:
        path = base / "source" / "module1" / "neurons.ipynb"
        try:
            nb = json.loads(path.read_text())
        except OSError:
            continue
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if src.startswith("def " + name):
                ns = {"np": np}
                exec(src, ns)
                return ns[name]
    return None


_reference = _steal("leaky_integrator")


def leaky_integrator(input_data, tau):
    if _reference is not None:
        return _reference(input_data, tau)
    return np.zeros(len(input_data))
