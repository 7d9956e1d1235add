"""Copy another student's LIF neuron from the submitted folder.

cell: task2_lif_solution
fails: task2_lif_visible task2_lif_hidden
plain: fooled
"""
import json
import pathlib


def _classmate():
    here = pathlib.Path.cwd()
    for base in [here, *here.parents]:
        for path in sorted(base.glob("submitted/*/module1/neurons.ipynb")):
            try:
                nb = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for cell in nb["cells"]:
                src = "".join(cell["source"])
                if src.startswith("def leaky_integrate_and_fire") and "_classmate" not in src \
                        and "NotImplementedError()" not in src and "hoard" not in src:
                    ns = {"np": np}
                    try:
                        exec(src, ns)
                        out = ns["leaky_integrate_and_fire"](np.ones(6), 2.0, 0.7)
                        if np.sum(out[0]) == 3:
                            return ns["leaky_integrate_and_fire"]
                    except Exception:
                        continue
    return None


def leaky_integrate_and_fire(input_data, tau, threshold):
    ref = _classmate()
    if ref is not None:
        return ref(input_data, tau, threshold)
    n = len(input_data)
    return np.zeros(n), np.zeros(n)
