"""Every later cell sleeps 3.76 s (an audit hook on exec, installed by the Task 3 cosine
cell): each cell stays under its time limit (5 s in the test course), but the submission's
time budget (3 x 5 s) runs out during the fourth sleep, the Task 4.1 cell; the checks not
reached are reported "over budget" and the student costs the class at most the budget.
(3 sleeps = 11.3 s leave room for the checks before it; 4 sleeps = 15.04 s always exceed.)

cell: task3_cosine_signal_solution
fails: task41_li_surface_visible task41_li_surface_hidden task42_lif_surface_visible task42_lif_surface_hidden
plain: skip
"""
import sys
import time


def cosine_signal(max_x, samples=100):
    return (np.cos(np.linspace(0, max_x, samples)) + 1) / 2


def _slow(event, args):
    if event == "exec":
        time.sleep(3.76)


sys.addaudithook(_slow)
