"""The supervisor (trusted; never runs or parses student code): starts loaders, follows their
events within every time limit, blames the culprit of a stop (a cell is cut down, a test gets
its status) and starts a fresh loader until every test has a result or the budget is spent.

The budget's clock stops while a check runs: a check is bounded by its own timeout and loses
its points when it overruns, so a function that loops forever (or allocates until its limit,
slowly on a loaded machine) costs only the tests that call it, not the later tasks. A
submission therefore takes at most ``budget + checks x timeout`` (plus loader start-ups); the
number of checks is the assignment's, not the student's."""

import os
import time

from .calls import run_script_check, sanitize
from .cells import label
from .framing import MAX_EVENT, FrameReader, drain, short
from .loader import loader_main
from .privileges import become_student, fork_frozen, reap_until_gone


class Supervisor:
    """Runs loaders until every check has a result (or the budget is spent)."""

    def __init__(self, job, base_ns, result_fd):
        self.job, self.base_ns, self.result_fd = job, base_ns, result_fd
        self.results, self.modes, self.notes, self.timings = {}, {}, {}, {}
        self.by_id = {c["grade_id"]: c for c in job["checks"]}
        # the budget starts with the student's code (not with the trusted start-up)
        self.deadline = time.monotonic() + float(job["budget"])
        self.restarts = 0

    def pending(self):
        return [c for c in self.job["checks"] if c["grade_id"] not in self.results]

    def resume_budget(self, paused_at):
        """A check that started at ``paused_at`` has ended: its time is not the budget's."""
        self.deadline += time.monotonic() - paused_at

    def run(self):
        most = 2 * len(self.job["cells"]) + len(self.job["checks"]) + 2
        while self.pending():
            if time.monotonic() >= self.deadline or self.restarts > most:
                break
            self.restarts += 1
            self.one_loader()
        budget = float(self.job["budget"])
        for check in self.pending():
            self.results[check["grade_id"]] = {
                "status": "over budget",
                "message": "not run: your notebook used up the grader's time budget of %g s "
                "before this test (slow or sleeping cells above it)" % budget,
            }
        return self.results

    def cut(self, i, why):
        """Cell ``i`` stopped its loader: cut it down to definitions, then drop it."""
        old = self.modes.get(i, ("full", ""))[0]
        self.modes[i] = ("cut", why) if old == "full" else ("drop", why)
        self.notes[str(i)] = "%s: %s (%s)" % (
            label(self.job, i),
            why,
            "cut down to its definitions" if old == "full" else "left out",
        )

    def _script_pipes(self):
        """(ours, theirs): per visible test, the request/response pipe ends of each side."""
        ours, theirs = {}, {}
        for check in self.pending():
            if check["kind"] == "script":
                req_r, req_w = os.pipe()
                resp_r, resp_w = os.pipe()
                ours[check["grade_id"]] = (req_w, resp_r)
                theirs[check["grade_id"]] = (req_r, resp_w)
        return ours, theirs

    def one_loader(self):
        job = self.job
        evt_r, evt_w = os.pipe()
        pipes, theirs = self._script_pipes()
        ours = [evt_r, self.result_fd] + [fd for p in pipes.values() for fd in p]
        plan = {"modes": self.modes, "done": set(self.results)}
        # the loader needs a process of its own: it becomes the student's uid, which the
        # supervisor (which keeps CAP_SETUID to reap it) must never be
        pid = fork_frozen()
        if pid == 0:
            try:
                become_student(job, ours)
                loader_main(job, self.base_ns, plan, evt_w, theirs)
            finally:
                os._exit(70)
        os.close(evt_w)
        for fd in (fd for p in theirs.values() for fd in p):
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            self.follow(FrameReader(evt_r, pidfd), pipes)
        finally:
            reap_until_gone(job["uid"], pid, pidfd=pidfd)
            for fd in [evt_r] + [fd for p in pipes.values() for fd in p] + ([pidfd] if pidfd is not None else []):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _cap(self, activity):
        """Largest message accepted now: a check's result may be as large as its cases imply."""
        if activity[0] != "check":
            return MAX_EVENT
        return max(MAX_EVENT, int(self.by_id[activity[1]].get("max_bytes") or self.job["max_result_mb"] * 1024 * 1024))

    def follow(self, reader, pipes):
        """Follow one loader's events until it ends, or must be stopped (then the culprit is
        recorded: a cell is cut down, a check gets its status)."""
        timeout = float(self.job["timeout"])
        activity, last_cell = ("start", None), None
        started = time.monotonic()  # (when the current cell or check began)
        deadline = started + timeout
        while True:
            in_check = activity[0] == "check"
            reader.watch = not in_check
            try:
                # a check waits for its own timeout only (the budget's clock stops meanwhile)
                msg = reader.next(deadline if in_check else min(deadline, self.deadline), self._cap(activity))
                if type(msg) is not dict:
                    raise ValueError
            except (TimeoutError, EOFError, OverflowError, ValueError) as exc:
                if in_check:
                    self.resume_budget(started)
                if in_check or time.monotonic() < self.deadline:
                    self.blame(activity, last_cell, exc, timeout)
                return
            ev = msg.get("ev")
            now = time.monotonic()
            if ev == "cell" and type(msg.get("i")) is int and 0 <= msg["i"] < len(self.job["cells"]):
                activity, last_cell, deadline = ("cell", msg["i"]), msg["i"], now + timeout
                started = now
            elif ev == "celldone":
                if activity[0] == "cell":
                    self.timings["cell %d" % activity[1]] = round(now - started, 4)
                activity, deadline = ("idle", None), now + timeout
            elif ev == "check" and msg.get("gid") in self.by_id and msg["gid"] not in self.results:
                gid = msg["gid"]
                activity, deadline, started = ("check", gid), now + timeout, now
                if self.by_id[gid]["kind"] == "script" and not self.script(gid, pipes, deadline):
                    self.resume_budget(started)
                    return
            elif ev == "result" and activity[0] == "check" and msg.get("gid") == activity[1]:
                self.results[activity[1]] = sanitize(msg.get("result"))
            elif ev == "checked" and activity[0] == "check" and msg.get("gid") == activity[1]:
                gid = activity[1]
                self.timings[gid] = round(now - started, 4)
                self.resume_budget(started)
                if gid not in self.results:
                    self.results[gid] = {
                        "status": "crash",
                        "message": "the process running your code %s before returning a "
                        "result (os._exit, a crash, or a resource limit)" % short(str(msg.get("how")), 100),
                    }
                activity, deadline = ("idle", None), now + timeout
            elif ev == "end":
                return
            else:  # anything else breaks the protocol: treat it like a crash of the activity
                self.blame(activity, last_cell, ValueError(), timeout)
                return

    def script(self, gid, pipes, deadline):
        """Run visible test ``gid`` against its server; False: this loader must be stopped."""
        req_w, resp_r = pipes[gid]
        drain(resp_r)
        res = run_script_check(self.job, self.by_id[gid], self.base_ns, req_w, resp_r, deadline)
        self.results[gid] = res
        if res["status"] in ("timeout", "crash"):
            return False  # its server may still run: reap and go on afresh
        os.close(req_w)  # end of the test: the server exits
        pipes[gid] = (os.open("/dev/null", os.O_WRONLY), resp_r)
        return True

    def blame(self, activity, last_cell, exc, timeout):
        kind = activity[0]
        if isinstance(exc, TimeoutError):
            why = "did not finish within %g s" % timeout
        elif isinstance(exc, OverflowError):
            why = "sent a result that is far too large"
        else:
            why = "stopped the process running your notebook (os._exit, a crash or a resource limit)"
        if kind == "check":
            gid = activity[1]
            if gid not in self.results:
                self.results[gid] = (
                    {"status": "timeout"}
                    if isinstance(exc, TimeoutError)
                    else {"status": "toolarge"}
                    if isinstance(exc, OverflowError)
                    else {"status": "crash", "message": "your code " + why}
                )
        elif kind == "cell" or last_cell is not None:
            self.cut(activity[1] if kind == "cell" else last_cell, why)
        else:  # the loader failed before any cell: nothing of the student's ran yet
            for check in self.pending():
                self.results[check["grade_id"]] = {
                    "status": "error",
                    "message": "the grader could not start your notebook",
                }
