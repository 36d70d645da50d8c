"""The app without a browser: controls from the method specs, input checks, class names, the pass budget, jobs."""

from __future__ import annotations

import re
import threading
import time

import gradio as gr
import numpy as np
import pytest
from app_helpers import STOP_SECONDS, job_threads, png_header_only, rotated_photo, truncated_jpeg, wait_for
from PIL import Image
from toy_models import conv_bundle, random_image

from history_of_interpretation import load_image
from history_of_interpretation.app import endpoints, page as app, work as app_work
from history_of_interpretation.app.budget import DEFAULT_PASS_BUDGET, check_budget, most_passes
from history_of_interpretation.app.controls import all_controls, controls_for, settings_from_values
from history_of_interpretation.app.jobs import Job
from history_of_interpretation.methods import METHODS, SPECS, attribute
from history_of_interpretation.methods.rules import FLAG, SEED, checked_by_method, count, number, one_of, optional
from history_of_interpretation.methods.spec import method
from history_of_interpretation.models.labels import class_index, close_classes, imagenet_labels

COUNT = count(50)


@method(
    title="toy",
    authors="Nobody",
    year=2000,
    paper="A toy",
    rules={
        "count": COUNT,
        "seed": SEED,
        "scale": number(0, 2),
        "kind": one_of("a", "b"),
        "flag": FLAG,
        "channels": optional(COUNT),
        "baseline": checked_by_method("an image"),
    },
    passes=lambda settings, extras: {},
    rgb=False,
    signed=False,
    display="heat",
    resolution="pixel",
)
def toy(
    context,
    count: int = 3,
    seed: int = 0,
    scale: float = 0.5,
    kind: str = "a",
    flag: bool = False,
    channels=None,
    baseline="black",
):
    """A method with one parameter of every kind of rule."""


# --- controls from the specs ---------------------------------------------------------------


def test_each_rule_gives_its_kind_of_control():
    controls = {c.parameter: c for c in controls_for(toy.spec)}
    assert {name: c.kind for name, c in controls.items()} == {
        "count": "integer",
        "seed": "integer",
        "scale": "number",
        "kind": "choice",
        "flag": "flag",
        "channels": "integer",
    }  # the image baseline keeps its default
    assert (controls["count"].minimum, controls["seed"].minimum, controls["scale"].minimum) == (1, 0, 0)
    assert (controls["count"].maximum, controls["scale"].maximum, controls["channels"].maximum) == (50, 2, 50)
    assert controls["kind"].choices == ("a", "b")
    assert controls["channels"].optional and not controls["count"].optional
    assert {name: c.default for name, c in controls.items()} == {
        "count": 3,
        "seed": 0,
        "scale": 0.5,
        "kind": "a",
        "flag": False,
        "channels": None,
    }
    assert controls["count"].description == COUNT.description
    assert controls["count"].name == "toy_count"


def test_every_registered_method_gets_a_control_per_settable_parameter():
    controls = all_controls()
    for name in METHODS:
        spec = SPECS[name]
        own = {c.parameter for c in controls if c.method == name}
        fixed = {p for p, rule in spec.rules.items() if rule.kind == "given"}
        assert own == set(spec.defaults) - fixed, name


def page_components() -> dict[str, dict]:
    """The page's components by elem_id: their props as the browser gets them."""
    config = app.build().get_config_file()
    return {c["props"]["elem_id"]: c for c in config["components"] if c["props"].get("elem_id")}


def test_the_page_lists_every_method_with_its_settings_and_bounds():
    components = page_components()
    assert [value for _, value in components["methods"]["props"]["choices"]] == list(METHODS)
    for control in all_controls():
        props = components[control.name]["props"]
        assert props["label"] == control.label
        if control.kind in ("integer", "number"):  # the browser's field stops at the rule's bounds
            assert (props["minimum"], props["maximum"]) == (control.minimum, control.maximum), control.name
    counts = [c for c in all_controls() if c.kind == "integer"]
    assert counts and all(c.maximum is not None for c in counts)


def test_default_values_give_the_default_settings():
    controls = all_controls()
    values = [c.default for c in controls]
    for name in METHODS:
        assert settings_from_values(SPECS[name], controls, values) == SPECS[name].checked({})


def test_number_fields_become_checked_settings():
    controls = controls_for(toy.spec)
    values = {c.parameter: c.default for c in controls}

    def settings(**changed):
        return settings_from_values(toy.spec, controls, [{**values, **changed}[c.parameter] for c in controls])

    assert settings(count=5.0)["count"] == 5 and isinstance(settings(count=5.0)["count"], int)
    assert settings(channels=None)["channels"] is None and settings(channels=2.0)["channels"] == 2
    assert settings(channels="")["channels"] is None  # an HTTP client's empty field
    with pytest.raises(ValueError, match="toy: count must be a whole number from 1 to 50, not 2.5"):
        settings(count=2.5)
    with pytest.raises(ValueError, match="count is empty; it must be a whole number from 1 to 50"):
        settings(count=None)
    with pytest.raises(ValueError, match="toy: count must be a whole number from 1 to 50, not 1000000000"):
        settings(count=1e9)
    with pytest.raises(ValueError, match="kind must be one of 'a', 'b', not 'c'"):
        settings(kind="c")


# --- input checks ------------------------------------------------------------------------------


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png is not an image that can be read"):
        app_work.photo("chelsea", text, 224)


def test_a_truncated_photo_is_named_by_its_own_name_only(tmp_path):
    photo = truncated_jpeg(tmp_path / "holiday.jpg")
    with pytest.raises(ValueError, match="^holiday.jpg cannot be read as an image \\(image file is truncated") as error:
        app_work.photo(None, photo, 224)
    assert str(tmp_path) not in str(error.value)


def test_a_one_pixel_image_is_refused(tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ValueError, match="dot.png is 1x1 pixels; use a photo at least 32 pixels on each side"):
        app_work.photo(None, tmp_path / "dot.png", 224)


def test_a_huge_image_is_refused_from_its_header_before_decoding(tmp_path):
    huge = png_header_only(tmp_path / "huge.png", 12000, 12000)
    with pytest.raises(ValueError, match="huge.png is 12000x12000 pixels \\(144 megapixels\\)"):
        app_work.photo(None, huge, 224)


def test_an_upload_replaces_the_sample(tmp_path):
    Image.fromarray(load_image("coffee")).save(tmp_path / "mine.png")
    np.testing.assert_array_equal(app_work.photo("chelsea", tmp_path / "mine.png", 224), load_image("coffee", 224))
    with pytest.raises(ValueError, match="choose a sample photo or upload one"):
        app_work.photo(None, None, 224)


def test_an_upload_is_decoded_once_per_size(tmp_path, monkeypatch):
    Image.fromarray(load_image("rocket")).save(tmp_path / "rocket.png")
    decoded = []
    monkeypatch.setattr(app_work, "load_image", lambda *args: decoded.append(args) or load_image(*args))
    first = app_work.photo(None, tmp_path / "rocket.png", 224)
    again = app_work.photo(None, tmp_path / "rocket.png", 224)
    assert again is first and not first.flags.writeable and len(decoded) == 1
    app_work.photo(None, tmp_path / "rocket.png", 260)  # another model's size
    Image.fromarray(load_image("coffee")).save(tmp_path / "rocket.png")  # a new file at the same path
    np.testing.assert_array_equal(app_work.photo(None, tmp_path / "rocket.png", 224), load_image("coffee", 224))
    assert len(decoded) == 3


@pytest.mark.parametrize(("orientation", "red_rows"), [(6, slice(0, 50)), (8, slice(174, 224))])
def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path, orientation, red_rows):
    """Stored 300x200 with its left third red; upright it stands 200x300 with the red third on top (6) or below (8)."""
    photo = app_work.photo(None, rotated_photo(tmp_path / f"phone{orientation}.jpg", orientation), 224)
    red = (photo[..., 0] > 200) & (photo[..., 2] < 60)
    assert red[red_rows].mean() > 0.95  # whole rows red: the photo was turned
    assert red[60:164].mean() < 0.01  # and its middle is blue, where the sideways photo had red columns
    assert load_image(tmp_path / f"phone{orientation}.jpg").shape == (300, 200, 3)  # load_image turns it too


# --- classes -----------------------------------------------------------------------------------


def test_a_class_by_index_or_by_name_in_any_case():
    assert class_index("281") == class_index(" 281 ") == class_index(281) == 281
    assert class_index("Tiger Cat") == class_index("tiger cat") == 282
    assert class_index("tabby cat") == class_index("TABBY") == 281  # every WordNet synonym of the class
    assert class_index("crane (517)") == 517
    with pytest.raises(ValueError, match="class index 1000 is outside 0..999"):
        class_index("1000")
    with pytest.raises(ValueError, match="'crane' names 2 classes: crane \\(134\\), crane \\(517\\)"):
        class_index("crane")


def test_close_classes_put_what_the_word_names_first():
    labels = imagenet_labels()
    cats = ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"]
    assert [labels[i] for i in close_classes("cat")] == cats
    assert labels.index("oystercatcher") not in close_classes("cat")  # only once the cats run out
    assert labels.index("oystercatcher") in close_classes("cat", count=20)
    assert close_classes("tigger cat")[0] == 282  # a near spelling
    assert close_classes("qwxz") == []
    with pytest.raises(ValueError, match="unknown ImageNet class name 'cat'.*Did you mean tabby \\(281\\), tiger cat"):
        class_index("cat")


def test_the_class_typed_wins_and_an_unknown_name_is_an_error():
    assert app_work.target(3, "tiger cat") == 282 and app_work.target(3, "282") == 282
    assert app_work.target(3, "  ") == 3 and app_work.target(None, "") is None
    with pytest.raises(ValueError, match="unknown ImageNet class name 'tigger cat'.*Did you mean tiger cat \\(282\\)"):
        app_work.target(None, "tigger cat")


# --- the pass budget ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_model():
    return conv_bundle(size=16, classes=1000)


@pytest.mark.parametrize("name", METHODS)
def test_the_estimate_is_at_least_what_a_method_spends(toy_model, name):
    """The budget's estimate against real runs on a toy model: exact, or above for SLIC's 'about n segments'."""
    for params in (SPECS[name].quick, {}):
        result = attribute(name, toy_model, random_image(16, seed=1), **params)
        estimate = most_passes(name, result.params, toy_model)
        assert estimate == result.passes if name != "loo_superpixels" else estimate >= result.passes, params


def test_a_request_over_the_budget_names_its_costliest_method_and_how_to_lower_it(toy_model):
    settings = {name: SPECS[name].checked({}) for name in METHODS}
    assert check_budget(settings, toy_model) < DEFAULT_PASS_BUDGET  # every method at its defaults fits
    settings["rise"] = SPECS["rise"].checked({"masks": 20000})
    with pytest.raises(ValueError, match="allows 8,000 per request: RISE alone needs 20,000; lower its masks \\(now"):
        check_budget(settings, toy_model)
    guided_ig = {"guided_ig": SPECS["guided_ig"].checked({"steps": 1000})}
    title = re.escape(SPECS["guided_ig"].title)
    with pytest.raises(ValueError, match=f"{title} alone needs 9,001; lower its steps \\(now 1000\\) or points_per"):
        check_budget(guided_ig, toy_model)
    with pytest.raises(ValueError, match="lower its top_k \\(now all\\)"):
        check_budget({"score_cam": SPECS["score_cam"].checked({})}, toy_model, budget=3)


# --- jobs: stopped mid-way ---------------------------------------------------------------------


def test_model_calls_end_at_their_next_batch_once_stopped(toy_model):
    from history_of_interpretation.methods.model_calls import Stopped

    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        attribute("smoothgrad", toy_model, random_image(toy_model.input_size), samples=64, stop=stop)


def test_a_job_hands_back_its_steps_and_its_error():
    def work(job):
        yield "first"
        raise ValueError("grid must be a whole number")

    job = Job(work)
    job.join(STOP_SECONDS)
    assert job.steps == ["first"] and str(job.error) == "grid must be a whole number"
    stopped = Job(lambda job: iter(()))
    stopped.join(STOP_SECONDS)
    stopped.stop()  # after its end: nothing to stop
    assert stopped.stopped and stopped.error is None


def test_a_stopped_explanation_ends_mid_method_and_frees_the_model(lite0):
    image = load_image("chelsea", lite0.input_size)
    settings = {"smoothgrad": SPECS["smoothgrad"].checked({"samples": 2000})}  # minutes on 2 cores
    job = Job(lambda job: app_work.explain(image, lite0, None, settings, job.report, job.stop_event))
    wait_for(lambda: job.status.startswith("SmoothGrad"), "SmoothGrad to start")
    time.sleep(1)
    job.stop()
    job.join(STOP_SECONDS)
    assert not job.running and job.steps == [] and job.error is None  # stopped within its one method
    assert app_work.MODEL_LOCK.acquire(blocking=False)
    app_work.MODEL_LOCK.release()
    assert not job_threads()


def test_errors_reach_the_page_as_plain_messages_that_go():
    with pytest.raises(gr.Error, match="grid must be a whole number of at least 1, not 0") as error:
        with endpoints.page_errors():
            raise ValueError("grid must be a whole number of at least 1, not 0")
    assert error.value.duration == endpoints.ERROR_SECONDS  # a toast that goes by itself


def test_the_command_line_takes_a_port_and_a_budget():
    arguments = app.parse_arguments(["--port", "8123", "--pass-budget", "500"])
    assert (arguments.port, arguments.pass_budget) == (8123, 500)
    assert app.parse_arguments([]).port == app.DEFAULT_PORT


def test_no_analytics_and_no_font_server():
    import os

    from gradio.themes.utils.fonts import GoogleFont

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert not any(isinstance(font, GoogleFont) for font in (*app.THEME._font, *app.THEME._font_mono))


# --- the work, on the real model -------------------------------------------------------------------


def test_explain_draws_each_map_with_its_cost(lite0):
    image = load_image("chelsea", lite0.input_size)
    settings = {"vanilla_gradient": {}, "loo_grid": SPECS["loo_grid"].checked({"grid": 2})}
    steps = []
    pictures = list(app_work.explain(image, lite0, None, settings, lambda done, text: steps.append(done)))
    assert [p.results[0].method for p in pictures] == ["vanilla_gradient", "loo_grid"]
    assert [p.caption for p in pictures] == [
        f"vanilla gradient: 1 pass, {pictures[0].results[0].seconds:.2f} s",
        f"leave-one-out (grid): 4 passes, {pictures[1].results[0].seconds:.2f} s",
    ]
    assert pictures[0].title == "vanilla gradient: Egyptian cat (40%)"
    for picture in pictures:
        height, width, _ = picture.image.shape
        assert picture.image.dtype == np.uint8 and picture.image.std() > 0
        assert 0.8 < width / height < 1.4  # about square: no blank half in the page's grid
    assert steps == [0.0, 0.5, 1.0]


def test_downloads_hold_the_raw_map_and_the_figure(lite0, tmp_path):
    image = load_image("chelsea", lite0.input_size)
    pictures = list(app_work.explain(image, lite0, None, {"grad_cam": {}}))
    files = app_work.AppFiles()
    try:
        paths = files.save(pictures, app_work.file_stem(None, "/tmp/gradio/abc/my photo.JPG"))
        assert [path.name for path in paths] == ["my_photo_grad_cam_map.npy", "my_photo_grad_cam.png"]
        np.testing.assert_array_equal(np.load(paths[0]), pictures[0].results[0].map)
        np.testing.assert_array_equal(np.asarray(Image.open(paths[1]).convert("RGB")), pictures[0].image)
    finally:
        files.close()
    assert not files.root.exists()


def test_class_discrimination_explains_each_half_with_its_own_class(lite0):
    pictures = list(app_work.discriminate("chelsea", "coffee", lite0))
    own = [lite0.top_k(load_image(name, lite0.input_size), 1)[0][0] for name in ("chelsea", "coffee")]
    assert [[r.target for r in p.results] for p in pictures] == [[own[0]] * 2, [own[1]] * 2]
    assert [[r.method for r in p.results] for p in pictures] == [list(app_work.DISCRIMINATION_METHODS)] * 2


def test_two_requests_at_once_each_get_their_own_result(lite0):
    """attribute() counts passes on counters shared by every context on a model: the lock keeps them apart."""
    jobs = {"cat": ("chelsea", "loo_grid", {"grid": 3}), "cup": ("coffee", "smoothgrad", {"samples": 5})}
    expected = {
        key: attribute(name, lite0, load_image(photo, 224), **params) for key, (photo, name, params) in jobs.items()
    }
    start, results = threading.Barrier(len(jobs)), {}

    def request(key):
        photo, name, params = jobs[key]
        image = app_work.photo(photo, None, 224)
        start.wait()
        results[key] = next(app_work.explain(image, lite0, None, {name: SPECS[name].checked(params)})).results[0]

    threads = [threading.Thread(target=request, args=(key,)) for key in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in jobs:
        assert (
            results[key].pass_counts
            == expected[key].pass_counts
            == {"cat": {"forward": 9}, "cup": {"gradient": 5}}[key]
        )
        assert results[key].target == expected[key].target
        np.testing.assert_allclose(results[key].map, expected[key].map, rtol=1e-4, atol=1e-6)


def test_inception_offline_says_what_to_do(monkeypatch, tmp_path):
    from history_of_interpretation.models import inception

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(inception, "_internet_reachable", lambda *args, **kwargs: False)
    with pytest.raises(gr.Error, match="inception_v3 needs its ImageNet weights"), endpoints.page_errors():
        app_work.model("inception_v3")
