"""Step 4: pair similarities of a task, all pairs at once (copydetect fingerprints for code,
TF-IDF cosine for written answers)."""

from __future__ import annotations

import functools
import math
import zlib

import numpy as np

from .settings import FINGERPRINT_K, MIN_ANSWER_TERMS, MIN_FINGERPRINTS, WINNOW_WINDOW


def kgram_hashes(text: str, k: int) -> np.ndarray:
    """CRC-32 of every k-gram of ``text``: the same in every run (copydetect's own
    ``hashed_kgrams`` uses Python's ``hash``, salted per process, so its picks would vary)."""
    data = text.encode("utf-8", "surrogatepass")
    return np.array([zlib.crc32(data[i : i + k]) for i in range(len(data) - k + 1)], dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def code_fingerprints(code: str) -> tuple[str, frozenset, dict]:
    """copydetect's filtered text (names -> V, no comments/space), the hashes copydetect's
    winnowing keeps, and where each occurs (hash -> k-gram starts)."""
    from copydetect.utils import filter_code, winnow

    filtered, _ = filter_code(code, "cell.py", language="python")
    if len(filtered.encode("utf-8", "surrogatepass")) < FINGERPRINT_K:
        return filtered, frozenset(), {}
    hashes, idx = winnow(kgram_hashes(filtered, FINGERPRINT_K), WINNOW_WINDOW, remove_duplicates=False)
    index: dict = {}
    for h, i in zip(hashes.tolist(), idx.tolist()):
        index.setdefault(h, []).append(i)
    return filtered, frozenset(index), index


def _incidence(sets: list) -> "object":
    """Sparse students x features 0/1 matrix of a list of sets."""
    from scipy import sparse

    vocab = {}
    rows, cols = [], []
    for r, items in enumerate(sets):
        for item in items:
            rows.append(r)
            cols.append(vocab.setdefault(item, len(vocab)))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sets), max(len(vocab), 1)))


def code_similarity(fingerprints: list[set]) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise share of shared fingerprints, mean of |A&B|/|A| and |A&B|/|B| (NaN where a side
    is too short to compare), and the number shared |A&B|."""
    m = _incidence(fingerprints)
    shared = (m @ m.T).toarray()
    sizes = np.array([len(f) for f in fingerprints], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = 0.5 * (shared / sizes[:, None] + shared / sizes[None, :])
    short = sizes < MIN_FINGERPRINTS
    sim[short, :] = np.nan
    sim[:, short] = np.nan
    return sim, shared


def answer_similarity(term_lists: list[list[str]]) -> np.ndarray:
    """TF-IDF (smoothed idf, sublinear tf) cosine between answers; NaN for too-short ones."""
    from scipy import sparse

    vocab = {}
    rows, cols, vals = [], [], []
    for r, terms in enumerate(term_lists):
        counts = {}
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            rows.append(r)
            cols.append(vocab.setdefault(t, len(vocab)))
            vals.append(1.0 + math.log(c))
    n = len(term_lists)
    tf = sparse.csr_matrix((vals, (rows, cols)), shape=(n, max(len(vocab), 1)))
    df = np.asarray((tf > 0).sum(axis=0)).ravel()
    idf = np.log((1 + n) / (1 + df)) + 1.0
    x = tf.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x = sparse.diags(1.0 / norms) @ x
    sim = (x @ x.T).toarray()
    short = np.array([len(set(t)) < MIN_ANSWER_TERMS for t in term_lists], dtype=bool)
    sim[short, :] = np.nan
    sim[:, short] = np.nan
    return sim
