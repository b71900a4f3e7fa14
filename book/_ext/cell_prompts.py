"""The prompts of collapsed code cells in the Chinese edition (Sphinx extension).

MyST-NB wraps a hidden cell in a ``<details>`` whose summary reads "Show code cell source"
(``hide-input``), "... content" (``hide-cell``) or "... outputs" (``hide-output``): its
``nb_code_prompt_show`` template with ``{type}`` filled in English. This post-transform, right
after MyST-NB's, puts the Chinese prompt in their place when the edition's language is Chinese.
"""

from __future__ import annotations

from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

#: MyST-NB's English prompts and the Chinese edition's.
ZH_PROMPTS = {
    "Show code cell content": "显示代码单元", "Hide code cell content": "隐藏代码单元",
    "Show code cell source": "显示代码", "Hide code cell source": "隐藏代码",
    "Show code cell output": "显示输出", "Hide code cell output": "隐藏输出",
    "Show code cell outputs": "显示输出", "Hide code cell outputs": "隐藏输出",
}


class TranslateCellPrompts(SphinxPostTransform):
    """Replace each hidden cell's English prompts by their Chinese ones (zh builds only)."""

    default_priority = 200  # MyST-NB's HideInputCells, which makes the prompts, is 199
    formats = ("html",)

    def run(self, **kwargs) -> None:
        """Translate the prompts of every hidden cell of this page."""
        if not (self.config.language or "").startswith("zh"):
            return
        for node in self.document.findall(HideCodeCellNode):
            for key in ("prompt_show", "prompt_hide"):
                node[key] = ZH_PROMPTS.get(node[key], node[key])


def setup(app: Sphinx) -> dict:
    """Register the post-transform."""
    app.add_post_transform(TranslateCellPrompts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
