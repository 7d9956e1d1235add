"""Wrong answer; test cells edited: hidden test replaced by `pass` with a matching checksum
and unlocked, points raised to 100, the visible test turned into a non-graded cell.

cell: task1_leaky_integrator_solution
edit: edit-metadata
fails: task1_leaky_integrator_visible task1_leaky_integrator_hidden
plain: robbed
"""


def leaky_integrator(input_data, tau):
    return np.zeros(len(input_data))
