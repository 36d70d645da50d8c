"""Play with the methods in a browser: `python -m history_of_interpretation.app [--port N]` or `make app`.

Pick a photo (a sample or your own), a model, the class to explain and one
or more methods with their settings; each map appears beside the photo with
its cost. A second tab repeats chapter 4's class-discrimination test. The
methods, their settings and their rules all come from the method registry
(`methods.SPECS`), so a new method appears here by itself. From a notebook
(Colab included): `from history_of_interpretation.app import launch; launch()`.

It runs offline: gradio's analytics (and its version check) are off, and
the theme's fonts are served by the app itself, not fetched from a CDN.
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # must be set before gradio is imported

import gradio as gr  # noqa: E402

from ..images import sample_catalogue  # noqa: E402
from ..methods import METHODS, SPECS  # noqa: E402
from ..models import MODEL_NAMES, ModelUnavailableError  # noqa: E402
from ..models.checkpoint import CheckpointError  # noqa: E402
from ..tables import cost_table  # noqa: E402
from . import work  # noqa: E402
from .controls import Control, all_controls, settings_from_values  # noqa: E402

DEFAULT_PORT = 7860
DEFAULT_METHODS = ("vanilla_gradient", "grad_cam")  # preselected when registered: fast, and they differ
# System fonts only: the page asks no font server for anything.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
PLAIN_ERRORS = (ValueError, ModelUnavailableError, CheckpointError)


def plain_errors(function):
    """Show the package's own errors as a plain message in the page; the app goes on serving."""

    @functools.wraps(function)
    def shown(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except PLAIN_ERRORS as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from error

    return shown


def field(control: Control):
    """The gradio component of one generated control."""
    common = dict(label=control.label, info=control.description, elem_id=f"{control.method}-{control.parameter}")
    if control.kind == "flag":
        return gr.Checkbox(value=control.default, **common)
    if control.kind == "choice":
        return gr.Dropdown(choices=list(control.choices), value=control.default, **common)
    return gr.Number(
        value=control.default,
        precision=0 if control.kind == "integer" else None,
        minimum=control.minimum,
        maximum=control.maximum,
        **common,
    )


def build() -> gr.Blocks:
    """The page: an "Explain a photo" tab and a "Class discrimination" tab."""
    controls = all_controls()
    samples = [(f"{name}: {entry['description']}", name) for name, entry in sample_catalogue().items()]
    names = [name for _, name in samples]

    @plain_errors
    def show_photo(sample, upload, model_name):
        bundle = work.model(model_name)
        image = work.photo(sample, upload, bundle.input_size)
        choices = work.top_classes(image, bundle)
        return image, gr.Dropdown(choices=choices, value=choices[0][1])

    @plain_errors
    # gradio injects progress through this default (its documented pattern), hence the noqa.
    def run_explain(sample, upload, model_name, class_choice, class_name, methods, *values, progress=gr.Progress()):  # noqa: B008, E501
        if not methods:
            raise ValueError("choose at least one method")
        settings = {method: settings_from_values(SPECS[method], controls, list(values)) for method in methods}
        target = work.target(class_choice, class_name)
        bundle = work.model(model_name)
        image = work.photo(sample, upload, bundle.input_size)
        pictures = work.explain(image, bundle, target, settings, lambda done, text: progress(done, desc=text))
        return (
            [(p.image, p.caption) for p in pictures],
            cost_table([result for p in pictures for result in p.results]),
        )

    @plain_errors
    def run_discrimination(left, right, model_name, progress=gr.Progress()):  # noqa: B008
        pictures = work.discriminate(left, right, work.model(model_name), lambda done, text: progress(done, desc=text))
        return [(p.image, p.caption) for p in pictures]

    with gr.Blocks(title="A visual history of interpretation", analytics_enabled=False) as demo:
        gr.Markdown(
            "# A visual history of interpretation\nWhat does an image classifier look at? "
            "Pick a photo, a class and some methods, and compare their maps and their cost."
        )
        with gr.Tab("Explain a photo"):
            with gr.Row():
                with gr.Column():
                    sample = gr.Dropdown(choices=samples, value=names[0], label="sample photo", elem_id="sample")
                    upload = gr.File(
                        label="or upload a photo (it replaces the sample; clear it to go back)",
                        type="filepath",
                        elem_id="upload",
                    )
                    model_name = gr.Dropdown(
                        choices=list(MODEL_NAMES),
                        value=MODEL_NAMES[0],
                        label="model",
                        info="inception_v3 downloads its weights once: it needs the internet",
                    )
                    seen = gr.Image(label="the photo as the model sees it", interactive=False, height=240)
                    class_choice = gr.Dropdown(
                        choices=[], label="class to explain (the model's top 5)", elem_id="class-choice"
                    )
                    class_name = gr.Textbox(
                        label="or any ImageNet class by name", placeholder="e.g. tiger cat", elem_id="class-name"
                    )
                with gr.Column():
                    methods = gr.CheckboxGroup(
                        choices=[(f"{SPECS[m].title} ({SPECS[m].citation})", m) for m in METHODS],
                        value=[m for m in DEFAULT_METHODS if m in METHODS],
                        label="methods",
                        elem_id="methods",
                    )
                    fields = []
                    for method in METHODS:
                        own = [control for control in controls if control.method == method]
                        if own:
                            with gr.Accordion(f"{SPECS[method].title}: settings", open=False):
                                fields += [field(control) for control in own]
                    explain = gr.Button("Explain", variant="primary", elem_id="explain")
            maps = gr.Gallery(
                label="maps (the photo, the map; passes through the network and seconds)",
                columns=2,
                height="auto",
                object_fit="contain",
                elem_id="maps",
            )
            costs = gr.Markdown(elem_id="costs")
            photo_inputs = [sample, upload, model_name]
            for trigger in (sample.change, upload.change, model_name.change, demo.load):
                trigger(show_photo, photo_inputs, [seen, class_choice])
            explain.click(run_explain, [*photo_inputs, class_choice, class_name, methods, *fields], [maps, costs])
        with gr.Tab("Class discrimination"):
            gr.Markdown(
                "Two photos side by side; Grad-CAM and guided Grad-CAM for the top class of each "
                "photo (as in chapter 4): a class-discriminative map lights up its own half."
            )
            with gr.Row():
                left = gr.Dropdown(choices=samples, value=names[0], label="left photo")
                right = gr.Dropdown(choices=samples, value=names[1], label="right photo")
                pair_model = gr.Dropdown(choices=list(MODEL_NAMES), value=MODEL_NAMES[0], label="model")
            compare = gr.Button("Compare", variant="primary", elem_id="compare")
            pair_maps = gr.Gallery(
                label="one row per class", columns=1, height="auto", object_fit="contain", elem_id="pair-maps"
            )
            compare.click(run_discrimination, [left, right, pair_model], pair_maps)
    return demo


def launch(port: int | None = None, host: str = "127.0.0.1", **options):
    """Start the app and return its gr.Blocks; in Jupyter or Colab it shows inline and returns at once.

    `options` go to gradio's `Blocks.launch` (say `share=True` on Colab for a public link,
    or `prevent_thread_lock=True` to keep a script going); `demo.close()` stops it.
    """
    demo = build()
    demo.queue(default_concurrency_limit=1)  # one model job at a time; work.MODEL_LOCK guards across events
    settings = dict(
        server_name=host,
        server_port=port,
        theme=THEME,
        show_error=True,
        ssr_mode=False,
        max_file_size=work.MAX_UPLOAD,
        footer_links=[],
    )
    demo.launch(**{**settings, **options})
    return demo


def parse_arguments(argv=None) -> argparse.Namespace:
    """The app's command line: --port and --host."""
    parser = argparse.ArgumentParser(prog="python -m history_of_interpretation.app", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0 for every interface)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_arguments()
    launch(port=arguments.port, host=arguments.host)
