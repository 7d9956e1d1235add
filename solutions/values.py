"""The graded *values* of assignment module1, written once.

Each assignment here is the instructor's solution cell of the value of the same
name (``course.stubs.value_solution_source`` copies the line into the
notebook), and the book imports it to draw the expected behaviour.
"""

import numpy as np

# Task 0: at least 1000 consecutive ones, 1-D
input_data = np.ones(1000)

# Task 3: a signal frequency that makes the Task 3 neuron spike, and one that does not
# (spikes for slow oscillations, silence for fast ones; see solutions.filters)
max_x_spiking = np.pi * 5
max_x_silent = np.pi * 30
