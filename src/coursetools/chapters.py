"""The chapter registry, `notebooks/chapters.toml`, read in one place.

Standard library only: the Makefile runs this file with the system Python
(`python chapters.py makefile`) to write its per-chapter rules before the
virtual environment exists.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "notebooks" / "chapters.toml"


@dataclass(frozen=True)
class Chapter:
    """One notebook of the course and the figures it writes."""

    notebook: str  # file name in notebooks/ without .ipynb, e.g. "04_grad_cam"
    topic: str
    paper: str
    figures: tuple[str, ...]

    @property
    def number(self) -> str:
        """The two-digit chapter number, e.g. "04"."""
        return self.notebook[:2]

    @property
    def path(self) -> Path:
        """The executed notebook in notebooks/."""
        return REGISTRY.parent / f"{self.notebook}.ipynb"


def load_chapters(registry: Path = REGISTRY) -> list[Chapter]:
    """The chapters in reading order; a malformed registry raises ValueError naming the problem."""
    with open(registry, "rb") as file:
        entries = tomllib.load(file).get("chapter", [])
    chapters = []
    for index, entry in enumerate(entries):
        missing = {"notebook", "topic", "paper", "figures"} - set(entry)
        if missing:
            raise ValueError(f"{registry.name}: chapter {index + 1} lacks {', '.join(sorted(missing))}")
        chapters.append(Chapter(entry["notebook"], entry["topic"], entry["paper"], tuple(entry["figures"])))
    numbers = [chapter.number for chapter in chapters]
    if numbers != sorted(set(numbers)):
        raise ValueError(f"{registry.name}: chapter numbers must be unique and in order, not {numbers}")
    return chapters


def makefile_rules(chapters: list[Chapter]) -> str:
    """One `$(eval $(call chapter,...))` line per chapter, for the Makefile to include."""
    return "".join(
        f"$(eval $(call chapter,{chapter.notebook},{' '.join(f'figures/{name}' for name in chapter.figures)}))\n"
        for chapter in chapters
    )


if __name__ == "__main__" and sys.argv[1:] == ["makefile"]:
    sys.stdout.write(makefile_rules(load_chapters()))
