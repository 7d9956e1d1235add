"""An ndarray subclass whose ufuncs and comparisons lie (everything "close", all True).

cell: task1_leaky_integrator_solution
fails: task1_leaky_integrator_visible task1_leaky_integrator_hidden
plain: same
"""


class Liar(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        shape = np.broadcast_shapes(*[np.shape(i) for i in inputs])
        return np.ones(shape, dtype=bool)

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __array_function__(self, func, types, args, kwargs):
        return True


def leaky_integrator(input_data, tau):
    return np.zeros(len(input_data)).view(Liar)
