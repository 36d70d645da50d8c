"""Run the chapters with papermill: one notebook in place, or the whole series elsewhere.

    python -m coursetools.series --notebook notebooks/04_grad_cam.ipynb
    python -m coursetools.series --image rocket --model efficientnet_lite2 --out out/rocket
    python -m coursetools.series --image photo.jpg --out out/mine --chapters 02,04

The first form is what `make figures` runs: it executes the notebook with its
own parameters and replaces it only once the run has succeeded. The second
reruns every chapter on another image or model into OUT (executed notebooks
and figures), never touching notebooks/ or figures/; its parameters are
checked before any notebook runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from coursetools.chapters import load_chapters
from history_of_interpretation.files import atomic_output
from history_of_interpretation.images import ImageLoadError, load_image
from history_of_interpretation.models import MODEL_NAMES, ModelUnavailableError, load_model

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
FIGURE_DIR = ROOT / "figures"


def chapters() -> list[Path]:
    """The chapters' notebooks, in the registry's order (notebooks/chapters.toml)."""
    return [chapter.path for chapter in load_chapters()]


# TensorFlow 2.21 writes these at import, to the C++ stderr that the kernel records,
# whatever TF_CPP_MIN_LOG_LEVEL says; only TF_ENABLE_ONEDNN_OPTS=0 stops the second,
# and it would change the numbers. They are dropped from the executed notebook.
TENSORFLOW_STARTUP = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\n"
    r"|^I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\..*\n",
    re.MULTILINE,
)


def drop_tensorflow_startup(notebook) -> None:
    """Remove TensorFlow's start-up lines from the stderr outputs of `notebook` (nbformat), nothing else."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = TENSORFLOW_STARTUP.sub("", output["text"])
                if not output["text"]:
                    continue
            outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs


def kernel_manager_class():
    """A kernel manager whose kernel writes its own stderr to a file (stderr_path), not to the
    terminal: the kernel echoes there what it records in the notebook, TensorFlow's
    start-up lines included. run_notebook shows the file when a chapter fails."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Unicode

    class FileStderrKernelManager(AsyncKernelManager):
        stderr_path = Unicode("", help="file for the kernel process's stderr").tag(config=True)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # A local file, opened once per kernel: no need to leave the event loop for it.
            with open(self.stderr_path, "ab") as stderr:  # noqa: ASYNC230 (the kernel keeps its own copy)
                await super()._async_launch_kernel(kernel_cmd, stderr=stderr, **kw)

    return FileStderrKernelManager


def kernel_config(folder: Path):
    """Kernel settings: its stderr into `folder`, and local sockets (IPC) there where the OS
    has them, so the kernel neither listens on TCP nor warns that TCP is unencrypted."""
    from traitlets.config import Config

    config = Config()
    config.FileStderrKernelManager.stderr_path = str(folder / "kernel.log")
    if sys.platform != "win32":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(folder / "kernel")
    return config


def run_notebook(notebook: Path, output: Path, parameters: dict | None = None, progress: bool | None = None) -> float:
    """Execute `notebook` into `output` (atomically) with the `parameters` it declares; return its seconds.

    A progress bar over the cells shows while it runs on a terminal (`progress=None`)
    and disappears when done; an error in a cell raises papermill's error, in full.
    """
    import nbformat
    import papermill

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the kernel inherits it
    declared = papermill.inspect_notebook(str(notebook))
    parameters = {name: value for name, value in (parameters or {}).items() if name in declared}
    bar = {"desc": notebook.stem, "leave": False, "disable": None if progress is None else not progress}
    started = time.perf_counter()
    with atomic_output(output, suffix=".ipynb") as temporary, tempfile.TemporaryDirectory() as folder:
        try:
            executed = papermill.execute_notebook(
                str(notebook),
                str(temporary),
                parameters=parameters,
                cwd=str(NOTEBOOK_DIR),
                kernel_name="python3",
                progress_bar=bar,
                log_output=False,
                kernel_manager_class=kernel_manager_class(),
                config=kernel_config(Path(folder)),
            )
        except BaseException:
            log = Path(folder) / "kernel.log"  # absent where jupyter_client launches kernels another way
            kernel_log = TENSORFLOW_STARTUP.sub("", log.read_text(errors="replace")) if log.exists() else ""
            if kernel_log.strip():
                print(f"{notebook.name}: the kernel's own output\n{kernel_log}", file=sys.stderr)
            raise
        drop_tensorflow_startup(executed)
        nbformat.write(executed, str(temporary))
    return time.perf_counter() - started


def check_series_parameters(image: str, model: str, out: str) -> Path:
    """Fail before any notebook runs: the model loads, the image loads, OUT is not figures/."""
    if not out:
        raise ValueError("give OUT=<folder> for the rerun's notebooks and figures (and IMAGE=, MODEL= as you like)")
    out_dir = Path(out).resolve()
    if out_dir in (FIGURE_DIR, NOTEBOOK_DIR, ROOT):
        raise ValueError(f"OUT={out} would overwrite the published series; choose another folder")
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
    load_model(model)  # raises ModelUnavailableError with instructions, e.g. InceptionV3 offline
    load_image(image)  # raises ImageLoadError with instructions
    return out_dir


def select_chapters(numbers: list[str] | None) -> list[Path]:
    """The chapters whose two-digit numbers are given (all when None)."""
    found = chapters()
    if not numbers:
        return found
    numbers = [number.strip().zfill(2) for number in numbers if number.strip()]
    chosen = [notebook for notebook in found if notebook.name[:2] in numbers]
    unknown = sorted(set(numbers) - {notebook.name[:2] for notebook in found})
    if unknown:
        raise ValueError(
            f"no chapter numbered {', '.join(unknown)}; the chapters are "
            f"{', '.join(notebook.name[:2] for notebook in found)}"
        )
    return chosen


def run_series(image: str, model: str, out: str, numbers: list[str] | None = None) -> dict[str, float]:
    """The chapters (all, or those numbered) on `image` with `model`, into OUT/; seconds per chapter."""
    selected = select_chapters(numbers)
    out_dir = check_series_parameters(image, model, out)
    if Path(image).is_file():  # the notebooks run in notebooks/: a relative path must not depend on it
        image = str(Path(image).resolve())
    partner = "coffee" if image != "coffee" else "chelsea"  # the other half of chapter 4's composite
    parameters = {
        "MODEL": model,
        "IMAGE": image,
        "IMAGES": [image],
        "OUT": str(out_dir),
        "FINE_MODEL": model,
        "LEFT": image,
        "RIGHT": partner,
    }
    seconds = {}
    print(f"{len(selected)} chapters on {image} with {model}, into {out_dir}", flush=True)
    for notebook in selected:
        seconds[notebook.name] = run_notebook(notebook, out_dir / "notebooks" / notebook.name, parameters)
        print(f"{notebook.stem}: {seconds[notebook.name]:.0f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """The command line of the series runner; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, help="run this chapter in place with its own parameters")
    parser.add_argument("--image", help="sample name, file path or URL for a rerun of the series (default chelsea)")
    parser.add_argument("--model", default="efficientnet_lite0", help=f"one of {', '.join(MODEL_NAMES)}")
    parser.add_argument("--out", help="folder for the rerun's notebooks and figures")
    parser.add_argument("--chapters", help="only these chapters of the rerun, e.g. 02,04 (default: all)")
    args = parser.parse_args(argv)
    try:
        if args.notebook:
            seconds = run_notebook(args.notebook, args.notebook.resolve())
            print(f"{args.notebook.stem}: {seconds:.0f} s")
        else:
            numbers = args.chapters.split(",") if args.chapters else None
            run_series(args.image or "chelsea", args.model or "efficientnet_lite0", args.out, numbers)
    except (ValueError, ImageLoadError, ModelUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
