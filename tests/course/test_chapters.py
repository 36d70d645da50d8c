"""The chapter registry (notebooks/chapters.toml) and the places that must agree with it."""

from __future__ import annotations

import re

import pytest

from coursetools.chapters import REGISTRY, ROOT, load_chapters, makefile_rules


def readme_table() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The rows of the README's chapter table: notebook, topic, paper, figures."""
    rows = []
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.fullmatch(r"\| `(\d\d_\w+)` \|\s*(.*?)\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|", line)
        if match:
            notebook, topic, paper, figures = match.groups()
            rows.append((notebook, topic, paper, tuple(re.findall(r"`([^`]+\.png)`", figures))))
    return rows


def test_the_readme_table_agrees_with_the_registry():
    expected = [(c.notebook, c.topic, c.paper, c.figures) for c in load_chapters()]
    assert readme_table() == expected, "README.md's chapter table differs from notebooks/chapters.toml"


def test_every_registered_notebook_exists_and_every_notebook_is_registered():
    registered = {chapter.path.name for chapter in load_chapters()}
    on_disk = {path.name for path in REGISTRY.parent.glob("[0-9][0-9]_*.ipynb")}
    assert registered == on_disk


def test_makefile_rules_name_each_chapter_and_its_figures():
    rules = makefile_rules(load_chapters())
    assert rules.count("$(eval $(call chapter,") == len(load_chapters())
    assert "$(eval $(call chapter,04_grad_cam,figures/07_class_discrimination.png))" in rules


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[[chapter]]\nnotebook = "01_a"\ntopic = "x"\nfigures = []\n', "lacks paper"),
        (
            '[[chapter]]\nnotebook = "02_a"\ntopic = "x"\npaper = ""\nfigures = []\n'
            '[[chapter]]\nnotebook = "01_b"\ntopic = "x"\npaper = ""\nfigures = []\n',
            "unique and in order",
        ),
    ],
)
def test_a_malformed_registry_names_its_problem(tmp_path, text, problem):
    registry = tmp_path / "chapters.toml"
    registry.write_text(text)
    with pytest.raises(ValueError, match=problem):
        load_chapters(registry)
