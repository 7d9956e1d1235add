"""Every tunable number and fixed text of the similarity report, each with a comment."""

from __future__ import annotations

from course.manifest import default_assignment


#: characters of copydetect-filtered code per k-gram (one name is one character ``V``, so 12
#: characters is a few tokens, e.g. ``V=V+(V[V]-V)``): short enough for ten-line functions
FINGERPRINT_K = 12


#: winnowing window (k-grams); every shared run of ``K + WINDOW - 1`` characters is detected
WINNOW_WINDOW = 3


#: a task's code with fewer fingerprints than this is too short to tell copying from chance
MIN_FINGERPRINTS = 6


#: a code match listed for review covers at least this many shared fingerprints (a one-line
#: answer inside a longer one is common and honest; a copied function shares dozens)
MIN_SHARED = 12


#: a written answer with fewer distinct content words than this is not compared
MIN_ANSWER_TERMS = 8


#: spread of a task's pair similarities: the larger of 1.4826 x MAD and (the TAIL_QUANTILE
#: quantile - median) / TAIL_Z (both are the standard deviation for normal data; the second
#: also sees the long upper tail that short code has), never below SPREAD_FLOOR
TAIL_QUANTILE = 0.9


TAIL_Z = 1.2816


SPREAD_FLOOR = 0.03


#: robust z-score a task's similarity must reach for the pair to be listed for review
FLAG_Z = 4.0


#: ... and the similarity itself must reach this (code: share of fingerprints; answers: cosine)
FLAG_SIMILARITY = {"code": 0.75, "answer": 0.5}


#: tasks weighted below this (pairs alike anyway: median similarity above 0.8) never list a pair
MIN_WEIGHT = 0.2


#: smallest group of students linked through listed pairs that is shown as a cluster
CLUSTER_SIZE = 3


#: pairs shown in the ranked table at least (listed ones first; pairs.csv has all of them)
TOP_PAIRS = 40


#: listed pairs given a side-by-side view on the page (all of them are in pairs.csv)
MAX_SIDE_BY_SIDE = 100


#: words too common to say anything about who wrote an answer
STOPWORDS = frozenset(
    """a about above after again all also an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from
further had has have having here how i if in into is it its itself just more most much my no nor
not of off on once only or other our out over own same so some such than that the their them
then there these they this those through to too under until up very was we were what when where
which while who why will with would you your one two thus get gets makes make""".split()
)


#: bins of the per-task similarity histograms on the page
HIST_BINS = 40


#: output folder of the report, relative to the course
REPORT_DIR = "similarity"


#: the assignment compared when none is named: the course's first module (its manifest)
DEFAULT_ASSIGNMENT = default_assignment()


PLACEHOLDERS = ("YOUR ANSWER HERE", "YOUR CODE HERE")


EXCLUDED_WHY = [
    (
        "Docstrings and comments",
        "the stubs' docstrings are handed out; comments are free to add or change, so copying hides behind them",
    ),
    (
        "Every line the released notebook contains",
        "function signatures, provided helpers, setup and visible test cells are the same for everyone",
    ),
    (
        "The stub's <code>raise NotImplementedError()</code> and answer placeholders",
        "left in by students who did not attempt the task",
    ),
    (
        "Dead code",
        "statements after return/raise, <code>if False:</code> blocks, unused local "
        "assignments and stray literals change nothing and are a common disguise",
    ),
    (
        "Names and statement order",
        "every identifier counts as the same symbol and independent "
        "statements are put in one canonical order, so renaming and reordering do not hide a match",
    ),
    ("Sentences quoted from the notebook", "a written answer may repeat the question"),
]
