"""Keep the API reference's docstrings and the displayed maths out of translation (Sphinx
extension).

The docstrings of ``gan_tutorial`` (``book/api.md``, autodoc) stay English in both editions: a
transform that runs before Sphinx's ``Locale`` translation marks every node that autodoc made
from a docstring, and every node inside an object description, as not translatable. The gettext
builder therefore extracts none of them, and no catalogue entry can replace one. Displayed
maths (``$$ ... $$``) is the same in both editions, so it is marked too, and so is a
paragraph that holds only data: numbers, dates, versions and time units, as the table cells of
run times that every re-run of a chapter rewrites ("4 min 17 s", "2026-12-04 13:10", "3.11.7").
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

#: autodoc gives every node it parses from a docstring a source like ``x.py:docstring of f``.
DOCSTRING_SOURCE = ":docstring of "
#: One word of data: it starts with a digit (``4``, ``2026-12-04``, ``2.14.1+cu130``) or is a
#: unit of time.
DATA_WORD = re.compile(r"\d\S*|min|s|h|ms")


def keeps_english(node: nodes.Element) -> bool:
    """Whether ``node`` stays as it is in every edition: displayed maths, a docstring or data.

    Signatures (``desc_signature`` and all inside it) are never messages and are left
    untouched: the HTML writer renders some of their nodes by their attributes (a marked
    ``desc_sig_space`` loses its ``<span>``).
    """
    if _inside(node, addnodes.desc_signature):
        return False
    return isinstance(node, nodes.math_block) or from_docstring(node) or only_data(node)


def only_data(node: nodes.Element) -> bool:
    """Whether ``node`` is a paragraph whose every word is a number, date, version or time unit.

    Such a message reads the same in every language and changes with every re-run.
    """
    words = node.astext().split() if isinstance(node, nodes.paragraph) else []
    return bool(words) and all(DATA_WORD.fullmatch(word) for word in words)


def from_docstring(node: nodes.Element) -> bool:
    """Whether ``node`` was made by autodoc from a docstring or sits in an object description."""
    return DOCSTRING_SOURCE in (node.source or "") or _inside(node, addnodes.desc)


def _inside(node: nodes.Element, kind: type) -> bool:
    """Whether ``node`` is a ``kind`` or has one among its ancestors."""
    while node is not None:
        if isinstance(node, kind):
            return True
        node = node.parent
    return False


class KeepDocstringsEnglish(SphinxTransform):
    """Mark such nodes ``translatable = False`` before ``Locale`` (priority 20) runs."""

    default_priority = 10

    def apply(self, **kwargs) -> None:
        """Mark every node that :func:`keeps_english` recognises."""
        for node in self.document.findall(nodes.Element):
            if keeps_english(node):
                node["translatable"] = False


def setup(app: Sphinx) -> dict:
    """Register the transform."""
    app.add_transform(KeepDocstringsEnglish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
