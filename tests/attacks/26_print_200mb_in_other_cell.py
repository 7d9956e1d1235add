"""200 MB printed by the cell of a value answer: costs nothing (output goes nowhere).

cell: task3_max_x_spiking_solution
fails:
plain: skip
"""
max_x_spiking = np.pi * 5
for _ in range(200):
    print("x" * (1024 * 1024))
