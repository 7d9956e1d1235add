"""Every later cell sleeps 4 s (an audit hook on exec, installed by the Task 0 cell): each
cell stays under its time limit, but the submission's time budget (3 x 5 s in the test
course) runs out during the sleep before the Task 3 max_x answers; the checks not reached
are reported "over budget" and the student costs the class at most the budget.

cell: task0_input_data_solution
fails: task3_max_x_spiking task3_max_x_silent task31_band_pass task41_li_surface_visible task41_li_surface_hidden task42_lif_surface_visible task42_lif_surface_hidden
plain: skip
"""
import sys
import time

input_data = np.ones(1000)


def _slow(event, args):
    if event == "exec":
        time.sleep(4)


sys.addaudithook(_slow)
