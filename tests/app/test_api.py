"""The app's HTTP API, through gradio's own client: named endpoints and parameters, and no request that freezes it."""

from __future__ import annotations

import logging

import pytest
from app_helpers import PAGE_SECONDS, STOP_SECONDS, job_threads, wait_for
from gradio_client import Client
from gradio_client.exceptions import AppError

from history_of_interpretation.app import jobs

# A request the budget allows that takes minutes on 2 cores: 7,122 gradient passes.
LONG = dict(
    methods=["smoothgrad", "integrated_gradients", "blur_ig"],
    smoothgrad_samples=2000,
    integrated_gradients_steps=4096,
    blur_ig_steps=1024,
)


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def test_the_api_names_its_endpoints_and_parameters(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert sorted(api["named_endpoints"]) == ["/compare", "/explain", "/preview"]  # the preview once
    assert not api["unnamed_endpoints"]
    parameters = {p["parameter_name"]: p for p in api["named_endpoints"]["/explain"]["parameters"]}
    assert list(parameters)[:6] == ["sample", "upload", "model", "top5_class", "class_name", "methods"]
    assert {"smoothgrad_samples", "integrated_gradients_steps", "score_cam_top_k", "rise_seed"} <= set(parameters)
    assert not [name for name in parameters if name.startswith("param_")]
    assert all(p["parameter_has_default"] for p in parameters.values())  # every one may be left out
    assert parameters["score_cam_top_k"]["parameter_default"] is None
    assert parameters["smoothgrad_samples"]["parameter_default"] == 25


def test_a_class_by_index_or_by_name_in_any_case(client):
    by_name = client.predict(class_name="Tiger Cat", methods=["grad_cam"], api_name="/explain")
    by_index = client.predict(class_name="281", methods=["grad_cam"], api_name="/explain")
    assert "| grad_cam | tiger cat | 1 |" in by_name[1] and "| grad_cam | tabby | 1 |" in by_index[1]
    with pytest.raises(AppError, match="unknown ImageNet class name 'cat'.*Did you mean tabby \\(281\\)"):
        client.predict(class_name="cat", methods=["grad_cam"], api_name="/explain")


def test_an_empty_optional_setting_and_downloads(client):
    html, table, files, status = client.predict(methods=["score_cam"], score_cam_top_k=2, api_name="/explain")
    assert "| chelsea | score_cam | Egyptian cat | 4 |" in table and status.startswith("done: 1 map in")
    assert sorted(path.rsplit("/", 1)[1] for path in files) == ["chelsea_score_cam.png", "chelsea_score_cam_map.npy"]
    assert html.count("<figure>") == 2 and 'alt="Score-CAM: Egyptian cat' in html  # the photo, then the map
    _, table, _, _ = client.predict(methods=["grad_cam"], score_cam_top_k="", api_name="/explain")  # not chosen
    assert "| grad_cam |" in table


def test_a_huge_or_long_request_cannot_freeze_the_app(server, client, caplog):
    caplog.set_level(logging.INFO, logger=jobs.__name__)
    with pytest.raises(AppError, match="SmoothGrad: samples must be a whole number from 1 to 2000, not 1000000000"):
        client.predict(methods=["smoothgrad"], smoothgrad_samples=10**9, api_name="/explain")
    with pytest.raises(AppError, match="allows 8,000 per request: RISE alone needs 20,000; lower its masks"):
        client.predict(methods=["rise"], rise_masks=20000, api_name="/explain")
    assert not job_threads()  # both refused before any model work

    long = client.submit(**LONG, api_name="/explain")
    wait_for(job_threads, "the long request to start")
    wait_for(lambda: any("running SmoothGrad" in str(output) for output in long.outputs()), "its first status")
    long.cancel()  # what the page's Stop button does
    wait_for(lambda: not job_threads(), "the long request to stop", STOP_SECONDS)
    assert "a job was stopped after 0 steps, while SmoothGrad (1 of 3)" in caplog.text  # within its first method

    normal = Client(server, verbose=False).submit(methods=["grad_cam"], api_name="/explain")
    _, table, _, _ = normal.result(timeout=PAGE_SECONDS)
    assert "| grad_cam | Egyptian cat | 1 |" in table


def test_two_requests_at_once_each_get_their_own_result(server):
    client = Client(server, verbose=False)
    jobs = {
        "chelsea": dict(methods=["loo_grid"]),
        "coffee": dict(methods=["smoothgrad"], smoothgrad_samples=6),
    }
    submitted = {photo: client.submit(sample=photo, **job, api_name="/explain") for photo, job in jobs.items()}
    results = {photo: job.result(timeout=PAGE_SECONDS) for photo, job in submitted.items()}
    assert "| loo_grid | Egyptian cat | 9 |" in results["chelsea"][1]
    assert "| smoothgrad | espresso | 6 |" in results["coffee"][1]
    assert "leave-one-out (grid): 9 passes," in results["chelsea"][0]


def test_the_preview_gives_the_photo_and_the_top_5(client):
    image, top5, choice = client.predict("coffee", None, "efficientnet_lite0", api_name="/preview")
    assert top5["label"] == "espresso" and len(top5["confidences"]) == 5
    assert choice["value"] == 967
