"""What the page's three endpoints do (/preview, /explain, /compare), with their page updates and errors.

/explain and /compare are async generators: each runs its model work as a
`jobs.Job` and follows it, sending the maps done so far and a status line
every POLL_SECONDS. Gradio cancels the generator when the reader presses
Stop (`cancels=`) and closes it when its client goes away (it sees that when
it sends an update); either way the job is stopped. /explain has one named
parameter per setting (`smoothgrad_samples`), which gradio's client lists.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from contextlib import contextmanager
from typing import Any

import gradio as gr

from ..methods import METHODS, SPECS
from ..models import MODEL_NAMES, ModelUnavailableError
from ..models.checkpoint import CheckpointError
from ..tables import cost_table
from . import results, work
from .budget import check_budget
from .controls import Control, settings_from_values
from .jobs import Job

DEFAULT_METHODS = ("vanilla_gradient", "smoothgrad", "grad_cam")  # preselected: quick, and they differ
PLAIN_ERRORS = (ValueError, ModelUnavailableError, CheckpointError)
ERROR_SECONDS = 15  # an error's toast then goes by itself: they do not pile up
POLL_SECONDS = 0.5  # how often a running job's page is updated (and gradio sees whether its client is still there)


@contextmanager
def page_errors():
    """Show the package's own errors as a plain message in the page (a toast that goes); the app goes on serving."""
    try:
        yield
    except PLAIN_ERRORS as error:
        raise gr.Error(str(error), duration=ERROR_SECONDS, print_exception=False) from error


def preview(sample: str, upload: str | None, model: str):
    """The photo as the model sees it and the model's top 5 classes."""
    with page_errors():
        bundle = work.model(model)
        image = work.photo(sample, upload, bundle.input_size)
        best = work.top_classes(image, bundle)
    choices = [(f"{label} ({probability:.1%})", index) for index, label, probability in best]
    return (
        image,
        {label: probability for _, label, probability in best},
        gr.Dropdown(choices=choices, value=best[0][0]),
    )


def counted(number: int, noun: str) -> str:
    """'1 map', '3 maps', '1,283 passes'."""
    return f"{number:,} {noun}" + ("" if number == 1 else "es" if noun.endswith("s") else "s")


def elapsed(started: float) -> str:
    """Seconds since `started` (time.monotonic()), as the status line shows them."""
    return f"{time.monotonic() - started:.1f} s"


async def followed(job: Job, updates: Callable[[list | None, bool], Any]) -> AsyncIterator[Any]:
    """The page's updates while `job` runs, every POLL_SECONDS, then once it is done: `updates(steps, finished)`.

    `steps` are the job's steps done so far, or None when none was added since
    the last update (the maps need not be sent again). Each update is also
    gradio's chance to see that the client went away (it then closes this
    generator); the caller stops the job when that happens.
    """
    shown = None
    while job.running:
        await asyncio.sleep(POLL_SECONDS)
        steps = list(job.steps)
        yield await asyncio.to_thread(updates, None if len(steps) == shown else steps, False)
        shown = len(steps)
    if job.error is not None:
        raise job.error
    yield await asyncio.to_thread(updates, list(job.steps), True)  # files written off the event loop


def explain(controls: list[Control], names: list[str], budget: int, app_files: work.AppFiles):
    """The /explain endpoint: one named parameter per setting ('smoothgrad_samples'), streaming the maps."""
    parameter = inspect.Parameter
    signature = inspect.Signature(
        [
            parameter("sample", parameter.POSITIONAL_OR_KEYWORD, default=names[0]),
            parameter("upload", parameter.POSITIONAL_OR_KEYWORD, default=None),
            parameter("model", parameter.POSITIONAL_OR_KEYWORD, default=MODEL_NAMES[0]),
            parameter("top5_class", parameter.POSITIONAL_OR_KEYWORD, default=None),
            parameter("class_name", parameter.POSITIONAL_OR_KEYWORD, default=None),
            parameter("methods", parameter.POSITIONAL_OR_KEYWORD, default=list(DEFAULT_METHODS)),
            *(parameter(c.name, parameter.POSITIONAL_OR_KEYWORD, default=c.default) for c in controls),
        ]
    )

    async def explained(*arguments):
        """Explain a photo with one or more methods: each map with its cost, the raw maps and figures as files."""
        given = signature.bind(*arguments)
        given.apply_defaults()
        values = given.arguments
        started = time.monotonic()
        with page_errors():
            chosen = values["methods"] or []
            if unknown := sorted(set(chosen) - set(METHODS)):
                raise ValueError(f"unknown methods {', '.join(unknown)}; choose among {', '.join(METHODS)}")
            methods = [method for method in METHODS if method in chosen]  # in the order they were invented
            if not methods:
                raise ValueError("choose at least one method")
            settings_values = [values[c.name] for c in controls]
            settings = {method: settings_from_values(SPECS[method], controls, settings_values) for method in methods}
            bundle = await asyncio.to_thread(work.model, values["model"])
            check_budget(settings, bundle, budget)
            target = work.target(values["top5_class"], values["class_name"])
            image = await asyncio.to_thread(work.photo, values["sample"], values["upload"], bundle.input_size)
        photo = await asyncio.to_thread(work.photo_picture, image)
        job = Job(lambda job: work.explain(image, bundle, target, settings, job.report, job.stop_event))

        def updates(pictures: list | None, finished: bool) -> tuple:
            if finished:
                pictures = pictures or []
                name = work.file_stem(values["sample"], values["upload"])
                files = app_files.save(pictures, name)
                done = [result for picture in pictures for result in picture.results]
                passes = counted(sum(result.passes for result in done), "pass")
                status = f"done: {counted(len(done), 'map')} in {elapsed(started)}, {passes}"
                return results.grid([photo, *pictures]), cost_table({name: done}), [str(path) for path in files], status
            status = (
                f"running {job.status}, {elapsed(started)}: {len(job.steps)} of {counted(len(methods), 'map')} done"
            )
            maps = gr.skip() if pictures is None else results.grid([photo, *pictures])
            return maps, gr.skip(), gr.skip(), status

        try:
            with page_errors():
                async for update in followed(job, updates):
                    yield update
        finally:
            job.stop()  # the Stop button or a client gone: gradio cancels or closes this generator

    setattr(explained, "__signature__", signature)  # noqa: B010  (gradio reads the parameters' names from it)
    return explained


async def compare(left: str, right: str, model: str):
    """Chapter 4's test: Grad-CAM and guided Grad-CAM of each photo's top class on the two side by side."""
    with page_errors():
        bundle = await asyncio.to_thread(work.model, model)
    job = Job(lambda job: work.discriminate(left, right, bundle, job.report, job.stop_event))
    try:
        with page_errors():
            async for update in followed(
                job, lambda rows, _: gr.skip() if rows is None else results.grid(rows, "rows")
            ):
                yield update
    finally:
        job.stop()
