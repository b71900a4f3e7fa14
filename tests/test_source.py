"""gan_tutorial.source.show_source: the package's real code, docstrings cut to the summary."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
import torch
from IPython.display import Code

from gan_tutorial import source
from gan_tutorial.models import DCGANGenerator
from gan_tutorial.callbacks import ImagePool
from gan_tutorial.losses import clip_weights
from gan_tutorial.train import d_step


def _code_lines(text: str) -> list[str]:
    """The lines of a function's source that are not in a docstring."""
    tree = ast.parse(text)
    inside = {line for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.ClassDef))
              and ast.get_docstring(node, clean=False) is not None
              for line in range(node.body[0].lineno, node.body[0].end_lineno + 1)}
    return [line for number, line in enumerate(text.splitlines(), 1) if number not in inside]


def test_d_step_keeps_every_line_of_code_and_one_line_of_docstring() -> None:
    shown = source.show_source(d_step)
    assert isinstance(shown, Code) and shown.language == "python"
    full = textwrap.dedent(inspect.getsource(d_step))
    assert _code_lines(shown.data) == _code_lines(full)
    summary = ('    """One discriminator update on a minibatch '
               '(Goodfellow et al. 2014, Algorithm 1)."""')
    assert summary in shown.data.splitlines()
    assert len(shown.data.splitlines()) == len(_code_lines(full)) + 1
    assert "Args:" in full and "Args:" not in shown.data


def test_a_summary_of_several_lines_is_kept_whole_and_closed() -> None:
    shown = source.show_source(clip_weights).data.splitlines()
    assert shown[1].startswith('    """Clip every parameter of D to ``[-c, c]``, in place')
    assert shown[2].strip().endswith("for some K).")
    assert shown[3] == '    """'
    assert "Raises:" not in "\n".join(shown)
    compile("\n".join(shown), "shown", "exec")  # still valid Python


def test_a_class_has_its_methods_docstrings_cut_too() -> None:
    shown = source.show_source(ImagePool).data
    full = textwrap.dedent(inspect.getsource(ImagePool))
    assert _code_lines(shown) == _code_lines(full)
    assert "Args:" not in shown and "Raises:" not in shown and "Returns:" not in shown
    compile(shown, "shown", "exec")


def test_a_method_and_a_short_docstring_are_shown_as_they_are() -> None:
    shown = source.show_source(DCGANGenerator.forward).data
    assert shown.startswith("def forward(")
    assert source.summarised('def f():\n    """One line."""\n    return 1\n') == \
        'def f():\n    """One line."""\n    return 1\n'


@pytest.mark.parametrize("obj", [source._summary, torch.nn.Linear, len, 3, "d_step"])
def test_private_foreign_and_non_code_objects_are_refused(obj: object) -> None:
    with pytest.raises(ValueError, match="show_source shows"):
        source.show_source(obj)



def test_special_methods_of_public_classes_are_shown_and_of_private_ones_refused() -> None:
    from gan_tutorial.models import PointDiscriminator
    from gan_tutorial.runner import _Autocast

    shown = source.show_source(PointDiscriminator.__init__).data
    assert shown.startswith("def __init__(self, data_dim: int = 1")
    with pytest.raises(ValueError, match="public code only"):
        source.show_source(_Autocast.__init__)
