"""What the book tells a reader about each chapter: the reader's fields of notebooks/chapters.toml.

Beside the fields `chapters.py` reads (notebook, topic, paper, figures), each chapter of the
registry carries, for the book only: a one-line `summary` for the front page, the figure
its card shows as a `thumbnail`, the `references` it cites (keys of docs/references.bib),
and one `[[chapter.image]]` table per image the chapter shows, in order, with its `caption`
and `alt` text. They are read here rather than in `chapters.py`, which the Makefile runs
before the virtual environment exists and which needs none of them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from coursetools.chapters import REGISTRY

_FIELDS = ("summary", "thumbnail", "references", "image")


@dataclass(frozen=True)
class ImageNote:
    """One image a chapter shows: the caption under it and the text that replaces it for a screen reader."""

    caption: str
    alt: str


@dataclass(frozen=True)
class ReaderNotes:
    """A chapter's reader fields (see the module doc)."""

    summary: str
    thumbnail: str
    references: tuple[str, ...]
    images: tuple[ImageNote, ...]


def load_reader_notes(registry: Path = REGISTRY) -> dict[str, ReaderNotes]:
    """Each chapter's reader fields by notebook name; a missing or empty field raises ValueError naming it."""
    with open(registry, "rb") as file:
        entries = tomllib.load(file).get("chapter", [])
    notes = {}
    for entry in entries:
        name = entry.get("notebook", "?")
        missing = [field for field in _FIELDS if not entry.get(field)]
        if missing:
            raise ValueError(f"{registry.name}: chapter {name} lacks {', '.join(missing)} (the book needs them)")
        images = []
        for number, image in enumerate(entry["image"], start=1):
            if not (image.get("caption") and image.get("alt")):
                raise ValueError(f"{registry.name}: chapter {name}, image {number} needs a caption and alt text")
            images.append(ImageNote(image["caption"], image["alt"]))
        notes[name] = ReaderNotes(entry["summary"], entry["thumbnail"], tuple(entry["references"]), tuple(images))
    return notes
