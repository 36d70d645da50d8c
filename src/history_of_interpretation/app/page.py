"""Play with the methods in a browser: `python -m history_of_interpretation.app [--port N]` or `make app`.

Pick a photo (a sample or your own), a model, the class to explain and one
or more methods with their settings; each map appears in a grid below, with
its cost, as soon as its method is done. A second tab repeats chapter 4's
class-discrimination test. The methods, their settings and their rules all
come from the method registry (`methods.SPECS`), so a new method appears
here by itself. From a notebook (Colab included):
`from history_of_interpretation.app import launch; launch()`.

No request can hold the model for long: every count is bounded by its rule,
a request's passes by a budget (budget.py), the Stop button ends the running
explanation, and so does its client going away (jobs.py). The HTTP API
names its endpoints (/preview, /explain, /compare) and their parameters
(`smoothgrad_samples`, ...): `gradio_client.Client(url).view_api()`.

It runs offline: gradio's analytics (and its version check) are off (see
`__init__.py`), and the theme uses the system's fonts, fetched from no font
server. The endpoints' functions are in `endpoints.py`.
"""

from __future__ import annotations

import argparse
import weakref
from typing import Any

import gradio as gr

from ..images import sample_catalogue
from ..methods import METHODS, SPECS
from ..models import MODEL_NAMES
from . import endpoints, results, work
from .budget import DEFAULT_PASS_BUDGET, check_budget
from .controls import Control, all_controls, settings_from_values

DEFAULT_PORT = 7860
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
# After a good request, the error toasts of earlier ones go (each also goes by itself: endpoints.ERROR_SECONDS).
CLEAR_ERRORS_JS = "() => document.querySelectorAll('.toast-close.error').forEach(button => button.click())"
CSS = (
    results.CSS
    + """
#status p { margin: 0; }
"""
)


def field(control: Control):
    """The gradio component of one generated control."""
    common: dict[str, Any] = dict(label=control.label, info=control.description, elem_id=control.name)
    if control.kind == "flag":
        return gr.Checkbox(value=control.default, **common)
    if control.kind == "choice":
        return gr.Dropdown(choices=list(control.choices), value=control.default, **common)
    number = gr.Number(
        value=control.default,
        precision=0 if control.kind == "integer" else None,
        minimum=control.minimum,
        maximum=control.maximum,
        **common,
    )
    # The browser keeps the field within the rule's bounds; a value sent past them (an HTTP client) reaches the
    # rule as sent, whose message names the method and the setting ("SmoothGrad: samples must be a whole number
    # from 1 to 2000, not 1000000000"); gradio's own check names neither ("Value 1e9 is greater than maximum value
    # 2000"). An instance attribute, not a subclass: gradio writes a .pyi stub beside any subclass's source file.
    setattr(number, "preprocess", lambda payload: payload)  # noqa: B010  (a method replaced on one instance)
    return number


def build(pass_budget: int = DEFAULT_PASS_BUDGET) -> gr.Blocks:
    """The page: an "Explain a photo" tab and a "Class discrimination" tab."""
    controls = all_controls()
    samples = [(f"{name}: {entry['description']}", name) for name, entry in sample_catalogue().items()]
    names = [name for _, name in samples]
    app_files = work.AppFiles()

    def pick_sample(index: int):
        return names[index], None  # a sample replaces any upload

    def estimate(model, methods, *values):
        """What the chosen methods will cost, or why they cannot run, as the reader changes them."""
        try:
            settings = {m: settings_from_values(SPECS[m], controls, list(values)) for m in methods or []}
            needed = check_budget(settings, work.model(model), pass_budget)
        except endpoints.PLAIN_ERRORS as error:
            return f"**Cannot run**: {error}"
        return f"up to {needed:,} passes through the network (the app allows {pass_budget:,} per request)"

    with gr.Blocks(
        title="A visual history of interpretation",
        analytics_enabled=False,
        delete_cache=(3600, 3600),  # gradio's copies of uploads and downloads, after an hour
    ) as demo:
        gr.Markdown(
            "# A visual history of interpretation\nWhat does an image classifier look at? "
            "Pick a photo, a class and some methods, and compare their maps and their cost."
        )
        with gr.Tab("Explain a photo"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    thumbnails = gr.Dataset(
                        components=[gr.Image(visible=False)],
                        samples=[[str(path)] for path in app_files.thumbnails(names)],
                        type="index",
                        label="sample photos (click one)",
                        samples_per_page=len(names),
                        elem_id="thumbnails",
                    )
                    sample = gr.Dropdown(choices=samples, value=names[0], label="sample photo", elem_id="sample")
                    upload = gr.File(
                        label="or upload a photo (it replaces the sample; clear it to go back)",
                        file_types=["image"],
                        type="filepath",
                        height=120,
                        elem_id="upload",
                    )
                    model_name = gr.Dropdown(
                        choices=list(MODEL_NAMES),
                        value=MODEL_NAMES[0],
                        label="model",
                        info="inception_v3 downloads its weights once: it needs the internet",
                        elem_id="model",
                    )
                with gr.Column(scale=4):
                    seen = gr.Image(
                        label="the photo as the model sees it", interactive=False, height=224, elem_id="seen"
                    )
                    top5 = gr.Label(label="the model's top 5", num_top_classes=5, show_heading=False, elem_id="top5")
                    class_choice = gr.Dropdown(
                        choices=[], label="class to explain (one of the top 5)", elem_id="class-choice"
                    )
                    class_name = gr.Textbox(
                        label="or any ImageNet class, by name or index",
                        placeholder="e.g. tiger cat, or 282",
                        elem_id="class-name",
                    )
                with gr.Column(scale=6):
                    methods = gr.CheckboxGroup(
                        choices=[(f"{SPECS[m].title} ({SPECS[m].citation})", m) for m in METHODS],
                        value=[m for m in endpoints.DEFAULT_METHODS if m in METHODS],
                        label="methods",
                        elem_id="methods",
                    )
                    fields, settings_of = [], {}  # the settings of the methods chosen show, the others hide
                    for method in METHODS:
                        own = [control for control in controls if control.method == method]
                        if own:
                            with gr.Accordion(
                                f"{SPECS[method].title}: settings",
                                open=False,
                                visible=method in endpoints.DEFAULT_METHODS,
                            ) as settings_of[method]:
                                fields += [field(control) for control in own]
                    with gr.Row():
                        explain = gr.Button("Explain", variant="primary", elem_id="explain", scale=3)
                        stop = gr.Button("Stop", variant="secondary", elem_id="stop", scale=1)
                    cost = gr.Markdown(elem_id="estimate")
            status = gr.Markdown(elem_id="status")
            maps = gr.HTML(results.placeholder("Press Explain: each map appears here with its cost."), elem_id="maps")
            with gr.Row(equal_height=False):
                costs = gr.Markdown(elem_id="costs")
                files = gr.File(  # shown once it holds files: empty, it would be a blank frame
                    label="downloads: each map (.npy) and figure (.png)", file_count="multiple", visible=False
                )

            previewed = gr.on(
                triggers=[demo.load, sample.change, upload.change, model_name.change],
                fn=endpoints.preview,
                inputs=[sample, upload, model_name],
                outputs=[seen, top5, class_choice],
                api_name="preview",
                concurrency_id="preview",
                concurrency_limit=2,
                trigger_mode="always_last",
            )
            thumbnails.click(pick_sample, thumbnails, [sample, upload], queue=False, api_visibility="private")
            methods.change(
                lambda chosen: [gr.Accordion(visible=method in chosen) for method in settings_of],
                methods,
                list(settings_of.values()),
                queue=False,
                show_progress="hidden",
                api_visibility="private",
            )
            gr.on(
                triggers=[demo.load, methods.change, model_name.change, *(f.change for f in fields)],
                fn=estimate,
                inputs=[model_name, methods, *fields],
                outputs=cost,
                queue=False,
                show_progress="hidden",
                trigger_mode="always_last",  # a field sends a change per key typed: the estimate follows the last
                api_visibility="private",
            )
            running = explain.click(
                endpoints.explain(controls, names, pass_budget, app_files),
                [sample, upload, model_name, class_choice, class_name, methods, *fields],
                [maps, costs, files, status],
                api_name="explain",
                concurrency_id="model",
                concurrency_limit=1,
                show_progress="minimal",
            )
            stop.click(lambda: "stopped", None, status, cancels=[running], queue=False, api_visibility="private")
            for event in (previewed, running):
                event.success(None, js=CLEAR_ERRORS_JS, queue=False, api_visibility="private")
            running.success(lambda: gr.File(visible=True), None, files, queue=False, api_visibility="private")
        with gr.Tab("Class discrimination"):
            gr.Markdown(
                "Two photos side by side; Grad-CAM and guided Grad-CAM for the top class of each "
                "photo (as in chapter 4): a class-discriminative map lights up its own half."
            )
            with gr.Row():
                left = gr.Dropdown(choices=samples, value=names[0], label="left photo", elem_id="left")
                right = gr.Dropdown(choices=samples, value=names[1], label="right photo", elem_id="right")
                pair_model = gr.Dropdown(choices=list(MODEL_NAMES), value=MODEL_NAMES[0], label="model")
            compare_button = gr.Button("Compare", variant="primary", elem_id="compare")
            pair_maps = gr.HTML(results.placeholder("Press Compare: one row per photo's class."), elem_id="pair-maps")
            compare_button.click(
                endpoints.compare,
                [left, right, pair_model],
                pair_maps,
                api_name="compare",
                concurrency_id="model",
                concurrency_limit=1,
                show_progress="minimal",
            )
    weakref.finalize(demo, app_files.close)
    return demo


def launch(port: int | None = None, host: str = "127.0.0.1", pass_budget: int = DEFAULT_PASS_BUDGET, **options):
    """Start the app and return its gr.Blocks; in Jupyter or Colab it shows inline and returns at once.

    `pass_budget` caps the passes through the network of one request (all its
    methods together). `options` go to gradio's `Blocks.launch` (say
    `share=True` on Colab for a public link, or `prevent_thread_lock=True` to
    keep a script going); `demo.close()` stops it.
    """
    demo = build(pass_budget)
    demo.queue(default_concurrency_limit=1)
    settings: dict[str, Any] = dict(
        server_name=host,
        server_port=port,
        theme=THEME,
        css=CSS,
        show_error=True,
        ssr_mode=False,
        max_file_size=work.MAX_UPLOAD,
        footer_links=[],
    )
    demo.launch(**{**settings, **options})
    return demo


def parse_arguments(argv=None) -> argparse.Namespace:
    """The app's command line: --port, --host and --pass-budget."""
    parser = argparse.ArgumentParser(prog="python -m history_of_interpretation.app", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0 for every interface)")
    parser.add_argument(
        "--pass-budget",
        type=int,
        default=DEFAULT_PASS_BUDGET,
        help=f"the most passes through the network one request may take (default {DEFAULT_PASS_BUDGET:,})",
    )
    return parser.parse_args(argv)
