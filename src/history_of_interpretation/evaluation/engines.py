"""Where the evaluation's (photo, unit) jobs run: in this process (the default), or on Ray's workers.

`evaluate()` (driver.py) hands an engine the jobs still to do; the engine
yields each job's Measurement (and, when maps are kept, its `MapRecord`) as it
finishes, in any order. The driver alone writes them to the result log and the
map cache, so every unit is committed whole and once, whatever the engine.

- `SerialEngine`: the driver's own model, the jobs in order.
- `RayEngine`: Ray actors (Moritz et al. 2018, "Ray: A Distributed Framework
  for Emerging AI Applications"), each of which loads the model once from a
  picklable factory (`functools.partial(load_model, "efficientnet_lite0")`),
  makes its own `Randomiser`, and measures the jobs it is given one at a time
  (holding the next, so that it never waits for the driver), with TensorFlow
  limited to its share of the cores. A local Ray on all cores
  (no dashboard, no usage statistics, bound to 127.0.0.1) unless `RAY_ADDRESS`
  names a cluster. A worker lost with its node has its job handed to another,
  and a replacement is started should the cluster have room; a job whose
  workers keep dying stops the run (what finished is saved; rerun to resume).

Every draw depends only on the seed, the photo's name and the unit's name
(`Subject.rng`, method seeds), never on which worker measured what, so both
engines write the same rows.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .driver import Measurement, Plan, measure, warm_up
from .map_cache import MapRecord, cache_key
from .randomisation import Randomiser
from .units import Unit

ENGINES = ("serial", "ray")
JOBS_PER_WORKER = 2  # the job a worker runs and the next, so that it never waits for the driver
LOST_WORKERS_PER_JOB = 3  # a job that has killed this many workers is a bug, not bad luck
WORKER_START_SECONDS = 900  # how long to wait for a worker when none is running (model loading included)


@dataclass(frozen=True)
class Job:
    """One unit to measure on one photo, for a class (None: the photo's top-1), or on a grid case."""

    image: str
    unit: Unit
    target: int | None = None
    case: object = None  # a grid_cases.GridCase: its target class, for localisation metrics


class Measurer:
    """Measures jobs with one model: its Randomiser made once, each method compiled before its first timed run."""

    def __init__(self, bundle, plan: Plan):
        self.bundle, self.plan = bundle, plan
        self.randomiser = Randomiser(bundle, plan.seed) if plan.needs_randomiser else None
        self.warm: set[str] = set()

    def measure(
        self, job: Job, image: np.ndarray, keep_subject: bool = False, keep_map: bool = False
    ) -> tuple[Measurement, MapRecord | None]:
        """The job's Measurement (its subject only if asked) and, if asked, the record of its method's map."""
        method = job.unit.method
        if method is not None and method not in self.warm:
            warm_up(self.bundle, image, [job.unit])  # the first call of a method compiles (seconds, untimed)
            self.warm.add(method)
        measurement = measure(self.bundle, job.image, image, job.unit, self.plan, self.randomiser, job.target, job.case)
        record = None
        subject = measurement.subject
        if keep_map and method is not None and subject is not None and subject.result is not None:
            key = cache_key(self.bundle.name, job.image, image, job.unit, job.target, self.plan.batch_size)
            record = MapRecord.of(key, subject.result)
        if not keep_subject:
            measurement.subject = None
        return measurement, record


class SerialEngine:
    """Every job in this process, in order, on the driver's model."""

    keeps_details = True

    def run(self, bundle, photos, jobs: list[Job], plan: Plan, keep_details=False, keep_maps=False) -> Iterator:
        """Yield (Measurement, MapRecord or None) per job, in the jobs' order."""
        if not jobs:
            return
        measurer = Measurer(bundle, plan)
        for job in jobs:
            yield measurer.measure(job, photos[job.image], keep_details, keep_maps)


class RayWorker(Measurer):
    """A Ray actor's state: the model from its factory, TensorFlow held to `threads` cores."""

    def __init__(self, model: Callable, plan: Plan, threads: int):
        import tensorflow as tf

        # Before the model's first op, or TensorFlow refuses: N workers on N cores must not each take N threads.
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        super().__init__(model(), plan)

    def ready(self) -> str:
        """The model's name, once the model is loaded (the driver checks that it is the evaluation's)."""
        return self.bundle.name

    def measure(self, job: Job, image: np.ndarray, keep_subject=False, keep_map=False):
        """As Measurer's, on a writable copy of the photo (Ray hands arrays over read-only, from its store)."""
        return super().measure(job, np.array(image), keep_subject, keep_map)


class RayEngine:
    """The jobs on Ray actors: see the module's docstring.

    `model`: a picklable factory of the ModelBundle (each worker calls it once);
    `threads`: cores per worker (TensorFlow's intra- and inter-op threads);
    `workers`: how many (default: the cluster's CPUs // threads); `address`:
    a cluster's (default: RAY_ADDRESS, else a local Ray on all cores).
    """

    keeps_details = False  # subjects hold the model: they stay in the worker

    def __init__(self, model: Callable, threads: int = 1, workers: int | None = None, address: str | None = None):
        try:
            import ray  # noqa: F401
        except ImportError as error:
            raise ValueError(
                "ENGINE=ray needs the ray package, which the lock installs wherever Ray publishes wheels "
                "(not on Intel Macs); run with the serial engine (the default) instead"
            ) from error
        self.model, self.threads, self.workers, self.address = model, threads, workers, address
        self.lost_jobs: list[Job] = []  # the last run's jobs measured again because their worker was lost

    def run(self, bundle, photos, jobs: list[Job], plan: Plan, keep_details=False, keep_maps=False) -> Iterator:
        """Yield (Measurement, MapRecord or None) per job as workers finish them, in any order."""
        if keep_details:
            raise ValueError("a Ray worker keeps each unit's details (maps, curves); use the serial engine for them")
        self.lost_jobs = []
        if not jobs:
            return
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            self._connect()
        actors: list = []
        try:
            yield from self._schedule(ray, bundle.name, photos, jobs, plan, keep_maps, actors)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()

    def _connect(self) -> None:
        import logging

        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: Ray reports nothing anywhere
        address = self.address or os.environ.get("RAY_ADDRESS")
        options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if address:
            ray.init(address=address, **options)
        else:
            try:
                # "local": a fresh Ray of our own, even where another runs on this machine (ray.init() would join it).
                ray.init(address="local", num_cpus=os.cpu_count(), _node_ip_address="127.0.0.1", **options)
            except Exception as error:  # Ray says only Exception("... timed out during startup ...")
                raise RuntimeError(
                    "Ray did not start: its helper processes must be up within seconds, and a machine this busy "
                    "may be too slow; rerun when it is quieter, or without ENGINE=ray (the serial engine)"
                ) from error

    def _schedule(self, ray, model_name, photos, jobs, plan, keep_maps, actors) -> Iterator:
        from ray.exceptions import RayActorError

        worker_class = ray.remote(num_cpus=self.threads, max_restarts=0)(RayWorker)
        images = {name: ray.put(photos[name]) for name in dict.fromkeys(job.image for job in jobs)}
        cores = int(ray.cluster_resources().get("CPU", 0))
        queue, starting = deque(jobs), {}
        running: dict[Any, tuple[Any, Job]] = {}  # a job's result reference: its worker and the job
        busy: Counter = Counter()  # jobs in flight per ready worker

        def start() -> None:
            actor = worker_class.remote(self.model, plan, self.threads)
            actors.append(actor)
            starting[actor.ready.remote()] = actor

        for _ in range(min(self.workers or max(1, cores // self.threads), len(jobs))):
            start()
        while queue or running:
            for actor in list(busy):
                while queue and busy[actor] < JOBS_PER_WORKER:
                    job = queue.popleft()
                    running[actor.measure.remote(job, images[job.image], False, keep_maps)] = actor, job
                    busy[actor] += 1
            done, _ = ray.wait([*running, *starting], num_returns=1, timeout=None if running else WORKER_START_SECONDS)
            if not done:
                raise RuntimeError(
                    f"no Ray worker started within {WORKER_START_SECONDS} s: the cluster has no {self.threads} "
                    "free CPU(s) for one (`ray status` shows them); what finished is saved, rerun to resume"
                )
            if done[0] in starting:
                actor = starting.pop(done[0])
                try:
                    name = ray.get(done[0])
                except RayActorError as error:
                    if error.actor_init_failed:
                        raise  # the model does not load there: every worker would fail alike
                    start()  # lost with its node while loading the model
                    continue
                if name != model_name:
                    raise ValueError(f"the Ray workers' model is {name!r}, the evaluation's {model_name!r}")
                busy[actor] = 0
                continue
            actor, job = running.pop(done[0])
            try:
                result = ray.get(done[0])
            except RayActorError as error:
                self.lost_jobs.append(job)
                if self.lost_jobs.count(job) >= LOST_WORKERS_PER_JOB:
                    raise RuntimeError(
                        f"{job.unit.name} on {job.image} was lost with {LOST_WORKERS_PER_JOB} Ray workers in a row; "
                        "what finished is saved, rerun to resume"
                    ) from error
                queue.appendleft(job)
                if actor in busy:  # the first of its jobs to report the loss: retire it, start a replacement
                    del busy[actor]
                    ray.kill(actor)
                    start()  # it runs should the cluster have room for it
                continue
            busy[actor] -= 1
            yield result


def make_engine(name: str, model_name: str):
    """The engine `make evaluate ENGINE=...` names, for the model `load_model(model_name)` loads."""
    import functools

    from ..models import load_model

    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return SerialEngine() if name == "serial" else RayEngine(functools.partial(load_model, model_name))
