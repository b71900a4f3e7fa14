"""Show the package's real code on a chapter's page.

A chapter does not copy the code it teaches: it displays the function the package runs, so the
two cannot drift apart. The docstrings, written for the API reference (shapes, errors, sources),
are cut to their summary so that the code itself fills the cell.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from IPython.display import Code


def show_source(obj: Any) -> Code:
    """The source of a public function, class or method of ``gan_tutorial``, highlighted, with
    every docstring in it cut to its first paragraph (the summary).

    Example: ``show_source(d_step)`` in a notebook cell displays ``d_step``'s code.

    Args:
        obj: a function, class or method defined in the package, whose module and qualified
            name have no part starting with ``_`` (special methods such as ``__init__`` are
            public).

    Returns:
        An ``IPython.display.Code`` (language ``"python"``); a notebook shows it highlighted.

    Raises:
        ValueError: if ``obj`` is not a function, class or method, is defined outside
            ``gan_tutorial``, or is private.
    """
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise ValueError(f"show_source shows a function, class or method, got "
                         f"{type(obj).__name__}")
    module, name = getattr(obj, "__module__", "") or "", obj.__qualname__
    if module.split(".")[0] != "gan_tutorial":
        raise ValueError(f"show_source shows code of gan_tutorial, got {name} of {module!r}")
    if any(part.startswith("_") and not _special(part)
           for part in (*module.split("."), *name.split("."))):
        raise ValueError(f"show_source shows public code only, got {module}.{name}")
    return Code(summarised(textwrap.dedent(inspect.getsource(obj))), language="python")


def _special(name: str) -> bool:
    """True for Python's special names, like ``__init__`` (public, although they start with _)."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def summarised(source: str) -> str:
    """``source`` (Python code) with the docstring of every function and class in it cut to its
    first paragraph; nothing else changes."""
    lines = source.splitlines()
    docstrings = [node.body[0] for node in ast.walk(ast.parse(source))
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and ast.get_docstring(node, clean=False) is not None]
    for expr in sorted(docstrings, key=lambda e: e.lineno, reverse=True):  # bottom up
        first, last = expr.lineno - 1, expr.end_lineno - 1
        lines[first:last + 1] = _summary(lines[first:last + 1])
    return "\n".join(lines) + "\n"


def _summary(docstring: list[str]) -> list[str]:
    """The source lines of a docstring cut to its first paragraph, closed with its quotes."""
    opening = docstring[0].lstrip()
    indent = docstring[0][:len(docstring[0]) - len(opening)]
    quotes = next(q for q in ('"""', "'''", '"', "'") if q in opening)
    head = _first_paragraph(docstring)
    if len(head) == len(docstring):  # the docstring is its summary
        return docstring
    if len(head) == 1:
        return [head[0].rstrip() + quotes]
    return [*head, indent + quotes]


def _first_paragraph(docstring: list[str]) -> list[str]:
    """The lines of the docstring up to its first blank line (or its end)."""
    head = []
    for line in docstring:
        if not line.strip():
            break
        head.append(line)
    return head
