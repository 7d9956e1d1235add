"""A stray os._exit() after the Task 0 answer: only what needs that cell's computed value is
lost (input_data is made by a call, so the cut-down cell no longer defines it); every other
task, in other cells, keeps its points.

cell: task0_input_data_solution
fails: task0_input_data
plain: robbed
"""
input_data = np.ones(1000)

import os  # noqa: E402

os._exit(0)
