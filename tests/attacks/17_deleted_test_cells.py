"""Wrong answer; the test cells of Task 1 and Task 4.1 deleted from the notebook.

cell: task1_leaky_integrator_solution
edit: delete-tests
fails: task1_leaky_integrator_visible task1_leaky_integrator_hidden
plain: same
"""


def leaky_integrator(input_data, tau):
    return np.zeros(len(input_data))
