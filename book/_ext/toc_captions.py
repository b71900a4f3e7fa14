"""Translate the sidebar's part titles (Sphinx extension).

``_toc.yml``'s captions ("Chapters", "Appendices") reach the root page as toctree captions, which
the gettext builder extracts into the root page's catalogue. sphinx-external-toc inserts those
toctrees after Sphinx's ``Locale`` transform has run, though, so nothing would translate them:
this transform, right after the insertion, looks each caption up in the same catalogue.
"""

from __future__ import annotations

from pathlib import Path

from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain


class TranslateTocCaptions(SphinxTransform):
    """Replace each toctree caption by its translation in the page's catalogue, if any."""

    default_priority = 101  # sphinx-external-toc's InsertToctrees is 100

    def apply(self, **kwargs) -> None:
        """Translate the captions of this document's toctrees (not in an English build)."""
        if not self.config.language or self.config.language == "en":
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [str(Path(self.env.srcdir) / d) for d in self.config.locale_dirs]
        catalog, found = init_locale(dirs, self.config.language, domain)
        if not found:
            return
        for toctree in self.document.findall(addnodes.toctree):
            caption = toctree.get("caption")
            if caption and catalog.gettext(caption) != caption:
                toctree["caption"] = toctree["rawcaption"] = catalog.gettext(caption)


def setup(app: Sphinx) -> dict:
    """Register the transform."""
    app.add_transform(TranslateTocCaptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
