"""Model work on a thread of its own that the page can stop mid-way (the Stop button, a client gone).

Gradio cancels an event by cancelling its asyncio task; a function already
running on a worker thread runs on to its end (gradio's documentation of
`cancels=`), holding the model for every later visitor. So the page runs
each explanation as a `Job`: the work goes on a thread the job owns, the
page follows it from an async generator, and when gradio cancels or closes
that generator (Stop, or its client went away), `Job.stop()` sets the job's
stop event. The work hands it to `attribute(..., stop=...)`, whose model
calls check it before every batch and raise `Stopped`: the method ends
within one batch and its `with` blocks (the model lock) unwind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ..methods.model_calls import Stopped

Step = TypeVar("Step")
THREAD_NAME = "app job"  # tests find the jobs' threads by it
log = logging.getLogger(__name__)


class Job(Generic[Step]):
    """Runs `work(job)`, an iterator of steps, on its own thread; `steps` holds those done so far.

    `work` gets the job so that it can pass `job.stop_event` to its model
    calls and report progress with `job.report(fraction, text)`. An exception
    other than `Stopped` ends the job and waits in `error`.
    """

    def __init__(self, work: Callable[[Job], Iterator[Step]]):
        self.steps: list[Step] = []
        self.status = ""
        self.error: Exception | None = None
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name=THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[Job], Iterator[Step]]) -> None:
        try:
            for step in work(self):
                self.steps.append(step)
                if self.stop_event.is_set():
                    break
        except Stopped:
            pass
        except Exception as error:  # handed to the page, which shows it
            self.error = error
        if self.stop_event.is_set():
            log.info("a job was stopped after %d steps, while %s", len(self.steps), self.status or "starting")

    @property
    def running(self) -> bool:
        """Whether the work is still going (a stopped job ends within one batch)."""
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self.stop_event.is_set()

    def report(self, fraction: float, text: str) -> None:
        """Progress from the work: what it is doing now."""
        self.status = text

    def join(self, timeout: float | None = None) -> None:
        """Wait for the work to end."""
        self._thread.join(timeout)

    def stop(self) -> None:
        """End the work: within one batch of its current method, else before its next step."""
        self.stop_event.set()
