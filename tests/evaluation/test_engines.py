"""The evaluation on Ray: the serial run's rows, bit for bit; a lost node or a killed driver loses and repeats nothing.

A local two-node cluster (`ray.cluster_utils.Cluster`, one CPU per node, started
once for the module) runs the toy model's evaluation; the serial run in this
process is the reference. Workers import `toy_models` through PYTHONPATH, which
the nodes inherit from this process.
"""

from __future__ import annotations

import csv
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from toy_models import conv_bundle, conv_bundle_on_ray, random_image

from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
from history_of_interpretation.evaluation.engines import Job, Measurer, RayEngine, SerialEngine, make_engine
from history_of_interpretation.evaluation.map_cache import MapCache, MapRecord, cache_key
from history_of_interpretation.evaluation.units import Unit
from history_of_interpretation.methods.model_calls import DEFAULT_BATCH_SIZE

ray = pytest.importorskip("ray", reason="Ray publishes no wheel for this platform (the serial engine runs alone)")
from ray.cluster_utils import Cluster  # noqa: E402

SIZE = 32
PHOTOS = 8
METHODS = ["vanilla_gradient", "grad_cam", "loo_grid"]
METRICS = ("model_randomisation", "class_sensitivity", "degenerate_maps")
TESTS = Path(__file__).resolve().parents[1]
TOY = functools.partial(conv_bundle, size=SIZE)
KILL_ATTEMPTS = 3

# A child process that evaluates toy photos into argv[1] on the cluster at argv[2]; the test kills it mid-run.
CHILD = f"""
import functools, sys
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from toy_models import conv_bundle, random_image
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
from history_of_interpretation.evaluation.engines import RayEngine
toy = conv_bundle(size={SIZE})
photos = {{f"photo{{i}}": random_image({SIZE}, seed=i) for i in range({PHOTOS})}}
plan = Plan({METRICS!r}, depths=tuple(toy.group_names))
engine = RayEngine(functools.partial(conv_bundle, size={SIZE}), address=sys.argv[2])
evaluate(toy, photos, plan_units({METHODS!r}), plan, out=Path(sys.argv[1]), progress=False, engine=engine)
"""


def photos() -> dict[str, np.ndarray]:
    return {f"photo{i}": random_image(SIZE, seed=i) for i in range(PHOTOS)}


def run(toy, out: Path, engine, **options):
    plan = Plan(METRICS, depths=tuple(toy.group_names))
    return evaluate(toy, photos(), plan_units(METHODS), plan, out=out, progress=False, engine=engine, **options)


def read(path: Path) -> list[tuple]:
    with open(path, newline="") as handle:
        return sorted(tuple(row.values()) for row in csv.DictReader(handle))


def committed_units(out: Path) -> int:
    path = out / "costs.csv"
    return max(0, path.read_text().count("\n") - 1) if path.exists() else 0


@pytest.fixture(scope="module")
def toy():
    return TOY()


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory, toy):
    out = tmp_path_factory.mktemp("serial")
    run(toy, out, SerialEngine())
    return out


@pytest.fixture(scope="module")
def cluster():
    """Two nodes of one CPU each; nodes and workers find toy_models on PYTHONPATH."""
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "RAY_USAGE_STATS_ENABLED")}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), saved["PYTHONPATH"]]))
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # A killed node is declared dead after about a second, not the default half minute.
    fast_failure = {"health_check_period_ms": 200, "health_check_timeout_ms": 500, "health_check_failure_threshold": 3}
    # Without the autoscaler's monitor and the log monitor: fewer processes to start on a busy machine.
    lean = {"include_dashboard": False, "no_monitor": True, "include_log_monitor": False}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": fast_failure, **lean})
    cluster.add_node(num_cpus=1)
    try:
        yield cluster
    finally:
        cluster.shutdown()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def ray_engine(cluster, model=TOY) -> RayEngine:
    return RayEngine(model, address=cluster.address)


def test_the_rows_on_two_nodes_equal_the_serial_run_bit_for_bit(cluster, serial_run, toy, tmp_path):
    run(toy, tmp_path, ray_engine(cluster))
    assert (tmp_path / "evaluation.csv").read_text() != ""
    assert read(tmp_path / "evaluation.csv") == read(serial_run / "evaluation.csv")
    assert read(tmp_path / "costs.csv") != [] and committed_units(tmp_path) == committed_units(serial_run)


def test_a_node_killed_mid_run_loses_no_row_and_repeats_none(cluster, serial_run, toy, tmp_path):
    # The kill waits until the victim's worker has loaded the model (its ready file) and two more units are
    # committed: by then the driver keeps two of its jobs in flight there. (Timed on the first commit alone, a
    # busy machine still had the victim loading, and no job was lost.) Should the queue have run dry first, the
    # try proves nothing about lost jobs, so it is repeated, on a fresh folder.
    for attempt in range(KILL_ATTEMPTS):
        out, ready = tmp_path / f"attempt{attempt}", tmp_path / f"ready{attempt}"
        ready.mkdir()
        engine = ray_engine(cluster, functools.partial(conv_bundle_on_ray, str(ready), size=SIZE))
        victim = next(iter(cluster.worker_nodes))

        finished = threading.Event()  # the run ended before the victim had jobs: the killer gives up

        def kill_the_node_once_it_has_jobs(
            out=out, victim_ready=ready / victim.node_id, victim=victim, finished=finished
        ):
            while not victim_ready.exists():
                if finished.wait(0.01):
                    return
            committed = committed_units(out)
            while committed_units(out) < committed + 2:
                if finished.wait(0.01):
                    return
            cluster.remove_node(victim, allow_graceful=False)

        killer = threading.Thread(target=kill_the_node_once_it_has_jobs, daemon=True)
        killer.start()
        try:
            run(toy, out, engine)
        finally:
            finished.set()
            killer.join()
            if victim not in cluster.worker_nodes:
                cluster.add_node(num_cpus=1)  # two nodes again for the next try and the tests after this one
        rows = read(out / "evaluation.csv")
        assert len(rows) == len(set(rows))
        assert rows == read(serial_run / "evaluation.csv")
        assert committed_units(out) == committed_units(serial_run)
        if engine.lost_jobs:
            break
    assert engine.lost_jobs, f"in {KILL_ATTEMPTS} tries the node went before any of its jobs was in flight"


def test_a_killed_driver_resumes_on_ray_without_losing_or_repeating_a_row(cluster, serial_run, tmp_path):
    def child() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), cluster.address],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = child()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None and committed_units(tmp_path) < 2:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert 0 < committed_units(tmp_path) < committed_units(serial_run)
    assert child().wait() == 0
    rows = read(tmp_path / "evaluation.csv")
    assert len(rows) == len(set(rows))
    assert rows == read(serial_run / "evaluation.csv")


def test_each_method_map_is_kept_under_its_key_and_read_back_whole(serial_run, toy, tmp_path):
    # The same run with a map cache: the rows do not change, and each method's trained map is kept.
    run(toy, tmp_path / "out", SerialEngine(), maps=tmp_path / "maps")
    assert read(tmp_path / "out" / "evaluation.csv") == read(serial_run / "evaluation.csv")
    cache = MapCache(tmp_path / "maps")
    image, unit = photos()["photo1"], Unit.of_method("loo_grid")
    key = cache_key(toy.name, "photo1", image, unit, None, DEFAULT_BATCH_SIZE)
    record = cache.load(key)
    measured, _ = Measurer(toy, Plan(("seed_ceiling",))).measure(Job("photo1", unit), image, keep_subject=True)
    np.testing.assert_array_equal(record.map, measured.subject.result.map)
    np.testing.assert_array_equal(record.extras["segments"], measured.subject.result.extras["segments"])
    assert record.target == measured.subject.result.target and record.passes == measured.subject.result.passes
    assert record.result(unit).params == measured.subject.result.params
    # A changed setting, another photo under the same name, or another model reads as missing.
    assert cache.load({**key, "settings": {**key["settings"], "grid": key["settings"]["grid"] + 1}}) is None
    assert cache.load(cache_key(toy.name, "photo1", image[::-1], unit, None, DEFAULT_BATCH_SIZE)) is None
    assert cache.load({**key, "model": "another"}) is None
    assert len(list((tmp_path / "maps").rglob("*.npz"))) == PHOTOS * len(METHODS)


def test_a_name_with_slashes_stays_inside_the_cache(tmp_path, toy):
    cache = MapCache(tmp_path)
    unit = Unit.of_method("grad_cam")
    path = cache.path("../photos/cat.jpg", unit.name)
    assert tmp_path in path.parents and path.parent.parent == tmp_path
    image = random_image(SIZE, seed=3)
    measured, record = Measurer(toy, Plan(("seed_ceiling",))).measure(
        Job("../photos/cat.jpg", unit), image, keep_map=True
    )
    assert isinstance(record, MapRecord) and measured.subject is None
    cache.save(record)
    np.testing.assert_array_equal(cache.load(record.key).map, record.map)


def test_ray_keeps_no_details_and_unknown_engines_are_named(toy):
    with pytest.raises(ValueError, match="use the serial engine"):
        run(toy, None, RayEngine(TOY), keep_details=True)
    with pytest.raises(ValueError, match="unknown engine 'spark'; choose from serial, ray"):
        make_engine("spark", "efficientnet_lite0")
