"""Return an object that claims to equal anything.

cell: task3_cosine_signal_solution
fails: task3_cosine_signal
plain: same
"""


class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __len__(self):
        return 100

    def __getitem__(self, k):
        return self

    def __float__(self):
        raise TypeError("not a number")


def cosine_signal(max_x, samples=100):
    return Anything()
