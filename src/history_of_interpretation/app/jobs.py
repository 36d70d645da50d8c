"""Model work on a thread of its own that the page can stop mid-way (the Stop button, a client gone).

Gradio cancels an event by cancelling its asyncio task; a function already
running on a worker thread runs on to its end (gradio's documentation of
`cancels=`), holding the model for every later visitor. So the page runs
each explanation as a `Job`: the work goes on a thread the job owns, the
page follows it from an async generator, and when gradio cancels or closes
that generator (Stop, or its client went away), `Job.stop()` ends the work.

Between steps (one method, one map) the work checks the stop flag. Within a
step, `attribute()` has no stop hook: the methods call compiled TensorFlow
functions batch by batch, and TensorFlow cannot interrupt a running call.
So `stop()` raises `JobStopped` in the job's thread with CPython's
`PyThreadState_SetAsyncExc` (no maintained library wraps it), and only while
the thread is inside a block it marked `stoppable()`: the exception lands at
the next Python instruction, when the current batch returns, and unwinds the
block's `with` statements (the model lock is released). If methods come to
take a stop flag of their own, checked per batch, `stoppable()` and the
exception go and `stop()` sets that flag.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

Step = TypeVar("Step")
THREAD_NAME = "app job"  # tests find the jobs' threads by it
log = logging.getLogger(__name__)


class JobStopped(Exception):
    """Raised in a job's thread when it is stopped inside a stoppable block."""


class Job(Generic[Step]):
    """Runs `work(job)`, an iterator of steps, on its own thread; `steps` holds those done so far.

    `work` gets the job so that it can mark its long calls `job.stoppable()`
    and report progress with `job.report(fraction, text)`. An exception
    other than `JobStopped` ends the job and waits in `error`.
    """

    def __init__(self, work: Callable[[Job], Iterator[Step]]):
        self.steps: list[Step] = []
        self.status = ""
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._guard = threading.Lock()  # between stop() and the thread entering or leaving a stoppable block
        self._stoppable = False
        self._interrupted = False
        self._thread = threading.Thread(target=self._run, args=(work,), name=THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[Job], Iterator[Step]]) -> None:
        try:
            for step in work(self):
                self.steps.append(step)
                if self._stop.is_set():
                    break
        except JobStopped:
            pass
        except Exception as error:  # handed to the page, which shows it
            self.error = error
        if self._stop.is_set():
            log.info("a job was stopped after %d steps, while %s", len(self.steps), self.status or "starting")

    @property
    def running(self) -> bool:
        """Whether the work is still going (a stopped job ends within one batch)."""
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self._stop.is_set()

    def report(self, fraction: float, text: str) -> None:
        """Progress from the work: what it is doing now."""
        self.status = text

    def join(self, timeout: float | None = None) -> None:
        """Wait for the work to end."""
        self._thread.join(timeout)

    @contextmanager
    def stoppable(self):
        """A block that `stop()` may interrupt with JobStopped; entering it after stop() raises at once."""
        with self._guard:
            if self._stop.is_set():
                raise JobStopped
            self._stoppable = True
        try:
            yield
        finally:
            with self._guard:
                self._stoppable = False

    def stop(self) -> None:
        """End the work: at once inside a stoppable block, else before its next step."""
        self._stop.set()
        with self._guard:
            if self._stoppable and not self._interrupted:
                self._interrupted = True  # one exception only: a second could land in the first one's cleanup
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._thread.ident), ctypes.py_object(JobStopped)
                )
