"""Run the chapters with papermill: one notebook in place, or the whole series elsewhere.

    python -m history_of_interpretation.series --notebook notebooks/04_grad_cam.ipynb
    python -m history_of_interpretation.series --image rocket --model efficientnet_lite2 --out out/rocket
    python -m history_of_interpretation.series --image photo.jpg --out out/mine --chapters 02,04

The first form is what `make figures` runs: it executes the notebook with its
own parameters and replaces it only once the run has succeeded. The second
reruns every chapter on another image or model into OUT (executed notebooks
and figures), never touching notebooks/ or figures/; its parameters are
checked before any notebook runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .chapters import load_chapters
from .files import atomic_output
from .images import ImageLoadError, load_image
from .models import MODEL_NAMES, ModelUnavailableError, load_model

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
FIGURE_DIR = ROOT / "figures"


def chapters() -> list[Path]:
    """The chapters' notebooks, in the registry's order (notebooks/chapters.toml)."""
    return [chapter.path for chapter in load_chapters()]


def run_notebook(notebook: Path, output: Path, parameters: dict | None = None) -> float:
    """Execute `notebook` into `output` (atomically); return the seconds it took."""
    import papermill

    started = time.perf_counter()
    with atomic_output(output, suffix=".ipynb") as temporary:
        papermill.execute_notebook(
            str(notebook), str(temporary), parameters=parameters or {}, cwd=str(NOTEBOOK_DIR),
            kernel_name="python3", progress_bar=False, log_output=False,
        )
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
        raise ValueError(f"no chapter numbered {', '.join(unknown)}; the chapters are "
                         f"{', '.join(notebook.name[:2] for notebook in found)}")
    return chosen


def run_series(image: str, model: str, out: str, numbers: list[str] | None = None) -> dict[str, float]:
    """The chapters (all, or those numbered) on `image` with `model`, into OUT/; seconds per chapter."""
    selected = select_chapters(numbers)
    out_dir = check_series_parameters(image, model, out)
    if Path(image).is_file():  # the notebooks run in notebooks/: a relative path must not depend on it
        image = str(Path(image).resolve())
    partner = "coffee" if image != "coffee" else "chelsea"  # the other half of chapter 4's composite
    parameters = {"MODEL": model, "IMAGE": image, "IMAGES": [image], "OUT": str(out_dir),
                  "FINE_MODEL": model, "LEFT": image, "RIGHT": partner}
    seconds = {}
    for notebook in selected:
        print(f"running {notebook.name} on {image} with {model} ...", flush=True)
        seconds[notebook.name] = run_notebook(notebook, out_dir / "notebooks" / notebook.name, parameters)
        print(f"  done in {seconds[notebook.name]:.0f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
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
            print(f"{args.notebook.name}: {seconds:.0f} s")
        else:
            numbers = args.chapters.split(",") if args.chapters else None
            run_series(args.image or "chelsea", args.model or "efficientnet_lite0", args.out, numbers)
    except (ValueError, ImageLoadError, ModelUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
