"""Sphinx math rendered to MathML at build time, which browsers draw natively.

Sphinx's default, MathJax, is loaded from a CDN: the book must open offline, from disk,
with no script from the internet. `html_math_renderer = "mathml"` selects this one.
"""

from __future__ import annotations

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.util.math import get_node_equation_number


def visit_math(translator, node: nodes.Element) -> None:
    """Inline math: `$...$`."""
    translator.body.append(convert(node.astext(), display="inline"))
    raise nodes.SkipNode


def visit_displaymath(translator, node: nodes.Element) -> None:
    """Display math: `$$...$$` and the math directive, with its equation number if it has one."""
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    if node.get("number"):
        translator.body.append(f'<span class="eqno">({get_node_equation_number(translator, node)})</span>')
    translator.body.append(convert(node.astext(), display="block"))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    """Register the extension with Sphinx: math rendered to MathML at build time."""
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
