"""What a grading worker keeps warm from one student to the next, and what it sets up once.

Installed by :func:`neurograder.worker.init` in each batch worker process (``make grade``,
and the shards of a Dask run); ``nbgrader autograde`` itself is left as nbgrader makes it
(but for :func:`schema_version_in_process`, which the course's ``nbgrader_config.py`` installs
in every nbgrader command).
It changes no grade, gradebook row or written file (only how the rows' writes are grouped
into transactions):

* :func:`share_gradebook_engines`: nbgrader opens its gradebook a dozen times per student
  (``Gradebook(db_url)``), and each open made a new SQLAlchemy engine (an empty SQL compile
  cache, a new SQLite connection), listed the tables and ran ``create_all``. In a worker, the
  first open of a ``db_url`` does all that; later opens reuse its engine (compiled
  statements) and skip the table and course-row creation that the first open already did.
  Each open still gets its own session; closing it returns its SQLite connection to the
  engine's pool instead of disposing of the pool (nbgrader's ``close``), so the next open
  reuses the connection (~0.6 ms less per open). A gradebook file replaced or removed since
  (another file at the same path) gets a new engine, as at its first open, and a forked
  child drops the pooled connections it inherited without closing its parent's.
* :func:`one_transaction`: the gradebooks a block opens share one session and one
  transaction, committed at the block's end; each of nbgrader's commits inside it only
  writes its changes (and expires what was loaded, as a commit does). A worker writes a new
  student in two transactions, where nbgrader's steps made four: the student's and
  submission's rows (``intake``), and every result after the sandbox (``preprocessors``'s
  ``in_one_transaction``: scores, extra credit, hand grades, extensions, late penalty; each
  step decides what it writes as before). Not one: SQLite takes one writer at a time, and a
  transaction open from the set-up rows to the results would hold every other worker's
  writes for the whole sandbox run. If a results step fails, none of that student's results
  are kept (before, the scores stayed without the rest); no marker is written, so the next
  run grades the student again.
* :class:`ReadOnceNotebookExporter` (the exporter of the workers' ``Autograde``, see
  :func:`neurograder.worker.course_api`): nbconvert deep-copies each notebook it converts
  three times (``from_notebook_node``, ``_preprocess``, the validator's ``normalize``) so that
  the caller's notebook object stays unchanged; when it has read the notebook from a file
  itself, there is no caller's object, and those copies are skipped. It also validates the
  notebook against nbformat's schema once per conversion instead of four times: nbformat's
  ``reads`` and ``writes`` each validate too, but the exporter normalises the notebook
  before its preprocessors exactly as ``reads``' validation does (duplicate cell ids
  repaired) and validates it after them (an invalid result fails the notebook), and nothing
  changes it between then and ``writes``; their two validations only logged.
  nbgrader's ``Autograde`` converts each notebook twice: a sanitising pass, whose output it
  writes to the autograded folder and reads back, then the autograding pass, whose output
  replaces that file (or, if it fails, nbgrader removes the folder). The exporter writes the
  sanitising pass's notebook as JSON without indentation (Python's C encoder; nbformat's
  one-space indentation takes its pure-Python encoder): read back, it is the same notebook
  nbformat's indented text gives, and no one else ever reads the file. The autograding pass's
  notebook is written as nbformat writes it, byte for byte, by :func:`notebook_json`, which
  indents with Python's C string encoder instead of the pure-Python one (~1 ms less).
* :func:`schema_version_in_process`: nbgrader stamps each gradebook it creates with the head
  revision of its own migration scripts, which it gets by starting the ``alembic heads``
  command (1.3 CPU s, and ``alembic`` must be on PATH); the same revision is read here, in the
  process, from the same scripts with alembic's own ``ScriptDirectory`` (~0.07 s, once per
  process). Installed in every nbgrader command of the course too (``nbgrader_config.py``).
* :func:`freeze_heap`: what a process has built to grade (nbgrader's, SQLAlchemy's and
  NumPy's modules, the course's API) is handed to the garbage collector's permanent
  generation once built, so the collections that each student's work triggers walk only
  that student's objects, and the processes forked from it inherit a heap no collection
  touches.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import os
from json.encoder import encode_basestring

import nbformat
from nbconvert.exporters import Exporter, NotebookExporter
from nbformat.notebooknode import NotebookNode

#: db_url -> the SQLAlchemy engine every later Gradebook of this process shares
_ENGINES: dict = {}
#: (db_url, course_id) whose course row this process has made sure of
_COURSES: set = set()
#: db_url -> (device, inode) of the gradebook file its engine's connections have open
_FILES: dict = {}
#: db_url -> the sessionmaker of its shared engine
_SESSIONS: dict = {}
#: db_url -> the session of the :func:`one_transaction` running on it in this process
_SPANS: dict = {}


def gradebook_file(db_url: str) -> tuple | None:
    """(device, inode) of an SQLite gradebook's file, or None (no such file, or no file)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    try:
        info = os.stat(url.database)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def forget(db_url: str) -> None:
    """Close ``db_url``'s shared engine (its pooled connections): the next open is a first."""
    engine = _ENGINES.pop(db_url, None)
    _SESSIONS.pop(db_url, None)
    _FILES.pop(db_url, None)
    _COURSES.difference_update({key for key in _COURSES if key[0] == db_url})
    if engine is not None:
        engine.dispose()


def _shared_init(original):
    def __init__(self, db_url, course_id="default_course", authenticator=None):
        self._shared_engine = True
        if db_url in _ENGINES and gradebook_file(db_url) != _FILES.get(db_url):
            forget(db_url)  # another file (or none) at that path now: not our connections'
        engine = _ENGINES.get(db_url)
        if engine is None:  # the first open: nbgrader's own (engine, tables, alembic row)
            original(self, db_url, course_id, authenticator)
            _ENGINES[db_url] = self.engine
            _FILES[db_url] = gradebook_file(db_url)
            _COURSES.add((db_url, course_id))
            return
        from sqlalchemy.orm import scoped_session

        self.engine = engine
        self.db = _SPANS.get(db_url) or scoped_session(_sessions(db_url))
        if (db_url, course_id) not in _COURSES:  # (a course row is never removed)
            self.check_course(course_id=course_id)
            _COURSES.add((db_url, course_id))
        self.course_id = course_id
        self.authenticator = authenticator

    __init__.shared = True
    return __init__


def _sessions(db_url: str):
    """The sessionmaker of ``db_url``'s shared engine."""
    from sqlalchemy.orm import sessionmaker

    if db_url not in _SESSIONS:
        _SESSIONS[db_url] = sessionmaker(autoflush=True, bind=_ENGINES[db_url], future=True)
    return _SESSIONS[db_url]


def _pooled_close(original):
    def close(self):
        if getattr(self, "_shared_engine", False):
            self.db.remove()  # (its connection back to the shared engine's pool)
        else:
            original(self)

    return close


class _SpanSession:
    """The session of a :func:`one_transaction` as every gradebook opened in it sees it.

    ``commit()`` sends the pending changes to the database (a flush: a constraint broken
    fails there, as at a commit) and expires every loaded row, as a commit does, so what is
    read next comes from the database (a notebook's score after its grades changed); the
    transaction stays open. A gradebook closing (``remove()``) leaves it open.
    ``rollback()`` ends it: nothing written in it is kept, and the span fails."""

    def __init__(self, session):
        self._session = session
        self.rolled_back = False

    def commit(self):
        self._session.flush()
        self._session.expire_all()

    def remove(self):
        pass

    def rollback(self):
        self.rolled_back = True
        self._session.rollback()

    def __getattr__(self, name):
        return getattr(self._session, name)


@contextlib.contextmanager
def one_transaction(db_url: str):
    """Every gradebook of ``db_url`` opened in this process inside the ``with`` block writes
    in one transaction, committed when the block ends (and rolled back, nothing of it kept,
    when the block raises or a write in it was rolled back). SQLite takes one writer at a
    time, so a block holds the gradebook for writing from its first write to its end: keep
    it short. Only where the gradebook's engine is shared (:func:`share_gradebook_engines`,
    after its first open in the process); elsewhere each gradebook keeps its own
    transactions, as nbgrader makes them."""
    if db_url in _SPANS or db_url not in _ENGINES or gradebook_file(db_url) != _FILES.get(db_url):
        yield  # (nested, or no shared engine for this file: the gradebooks' own transactions)
        return
    span = _SpanSession(_sessions(db_url)())
    _SPANS[db_url] = span
    try:
        yield
        if span.rolled_back:
            raise RuntimeError(f"a write to {db_url} was rolled back: nothing of this transaction is kept")
        span._session.commit()
    except BaseException:
        span._session.rollback()
        raise
    finally:
        del _SPANS[db_url]
        span._session.close()


def _drop_inherited() -> None:
    """In a forked child: the shared engines' pooled connections are the parent's; drop them
    unclosed (SQLAlchemy's recipe for engines that cross a fork) and start afresh."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


def share_gradebook_engines() -> None:
    """Every ``nbgrader.api.Gradebook`` of this process reuses one engine per ``db_url``, and
    its pooled connection."""
    from nbgrader.api import Gradebook

    if not getattr(Gradebook.__init__, "shared", False):
        Gradebook.__init__ = _shared_init(Gradebook.__init__)
        Gradebook.close = _pooled_close(Gradebook.close)
        os.register_at_fork(after_in_child=_drop_inherited)


def freeze_heap() -> None:
    """Collect what is garbage now, then freeze everything left (``gc.freeze()``): the
    objects of this process's start-up are never walked by a collection again. Call it
    when start-up is done; objects made afterwards are collected as usual."""
    gc.collect()
    gc.freeze()


@functools.lru_cache(maxsize=1)
def alembic_head() -> str:
    """The head revision of nbgrader's gradebook migrations: what ``alembic heads`` prints
    for nbgrader's ``alembic.ini`` (nbgrader's ``get_alembic_version``), read in this process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    heads = ScriptDirectory(ALEMBIC_DIR).get_heads()
    if len(heads) != 1:  # (nbgrader would stamp the first line of several: never guess)
        raise RuntimeError(f"nbgrader's gradebook migrations have {len(heads)} heads: {heads}")
    return heads[0]


def schema_version_in_process() -> None:
    """nbgrader's gradebooks created in this process are stamped with :func:`alembic_head`
    instead of the output of an ``alembic heads`` subprocess."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def install() -> None:
    """Everything this module keeps warm or checks once (idempotent)."""
    share_gradebook_engines()
    schema_version_in_process()


class _ReadHere(NotebookNode):
    """A notebook just read from a file, held by nothing but the conversion that read it: a
    deep copy of it (made to protect someone else's object) is the notebook itself."""

    def __deepcopy__(self, memo):
        return self


class ReadOnceNotebookExporter(NotebookExporter):
    """nbconvert's NotebookExporter, without the copies of a notebook it read itself and
    without the validations its own normalisation and check after the preprocessors make
    redundant."""

    def from_file(self, file_stream, resources=None, **kw):
        # nbformat.read without its validation (the conversion normalises and validates)
        nb = _ReadHere(nbformat.convert(nbformat.reader.reads(file_stream.read()), 4))
        return self.from_notebook_node(nb, resources=resources, **kw)

    def from_notebook_node(self, nb, resources=None, **kw):
        if not self._preprocessors or self.nbformat_version != nb.nbformat:
            return super().from_notebook_node(nb, resources, **kw)  # (then writes validates)
        # NotebookExporter's, writing the notebook validated after its last preprocessor
        # (after each one, or with optimistic_validation, as the course's config sets it,
        # after the last only: the same notebook either way)
        nb_copy, resources = Exporter.from_notebook_node(self, nb, resources, **kw)
        resources["output_suffix"] = ".nbconvert"
        if _sanitizing(self.parent):
            return compact_json(nb_copy), resources
        return notebook_json(nb_copy), resources


def _sanitizing(converter) -> bool:
    """Is ``converter`` nbgrader's Autograde in its sanitising pass (whose written notebook
    only its own autograding pass reads, and then replaces)?"""
    from nbgrader.converters.autograde import Autograde

    return isinstance(converter, Autograde) and converter._sanitizing is True


def compact_json(nb) -> str:
    """``nb`` as nbformat's JSON (keys sorted, transient fields left out, bytes as base64),
    without indentation: what nbformat reads from it equals what it reads from its own
    indented text. Changes ``nb`` (its transient fields), as only a notebook about to be
    dropped may be."""
    from nbformat.v4.nbjson import BytesEncoder
    from nbformat.v4.rwbase import strip_transient

    return json.dumps(strip_transient(nb), cls=BytesEncoder, sort_keys=True, ensure_ascii=False) + "\n"


def notebook_json(nb) -> str:
    """nbformat's text of ``nb`` (``nbformat.v4.nbjson.writes``: one-space indentation, keys
    sorted, multi-line strings as lists of lines, transient fields left out) and a final
    newline, byte for byte, made without Python's pure-Python indenting JSON encoder. Changes
    ``nb`` (its lines split, transient fields dropped), as only a notebook about to be dropped
    may be. A notebook holding anything but JSON's own values (bytes, say) is written by
    nbformat itself."""
    from nbformat.v4.nbjson import writes
    from nbformat.v4.rwbase import split_lines, strip_transient

    nb = strip_transient(split_lines(nb))
    try:
        text = _indented(nb, "\n")
    except (TypeError, RecursionError):
        text = writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _indented(value, newline: str) -> str:
    """``json.dumps(value, indent=1, sort_keys=True, separators=(",", ": "),
    ensure_ascii=False)`` for JSON's own values (checked in the order ``json`` checks them),
    ``newline`` being the line break and indentation before ``value``'s closing bracket;
    TypeError for anything else."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(value)
    inner = newline + " "
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [_indented(item, inner) for item in value]
        return "[" + inner + ("," + inner).join(items) + newline + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [_key_text(key) + ": " + _indented(item, inner) for key, item in sorted(value.items())]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _key_text(key) -> str:
    if not isinstance(key, str):  # (json turns numbers into keys: left to it)
        raise TypeError("a key that is not a string")
    return encode_basestring(key)


def _float_text(number: float) -> str:
    """A float as ``json`` writes it (NaN and the infinities as JavaScript names them)."""
    if number != number:
        return "NaN"
    if number == math.inf:
        return "Infinity"
    if number == -math.inf:
        return "-Infinity"
    return float.__repr__(number)
