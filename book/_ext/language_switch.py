"""A link to the same page in the other edition, on every page (Sphinx extension).

The English edition lives in ``_build/html/``, the Chinese one in ``_build/html/zh_CN/`` (same
page names), so the other edition's page is a fixed relative path: down into ``zh_CN/`` from an
English page, up out of it from a Chinese one. The link sits at the top of the page's article
and carries ``hreflang`` (tests/test_browser.py follows it); the page's ``<head>`` gets the
matching ``<link rel="alternate">`` for search engines.
"""

from __future__ import annotations

from sphinx.application import Sphinx

#: The folder of ``_build/html`` that holds the Chinese edition (book/_tools/build_zh.py).
ZH_FOLDER = "zh_CN"
#: What each edition's link says: the name of the other language, in that language.
LABELS = {"en": ("zh-CN", "中文"), "zh": ("en", "English")}


def other_edition(pagename: str, language: str) -> str:
    """The relative URL of ``pagename`` in the other edition, seen from ``pagename``'s page.

    ``pagename`` is Sphinx's page name (``book/intro``); ``language`` the building edition's
    (``en`` or ``zh_CN``). An English page links into ``zh_CN/``, a Chinese page out of it.
    """
    up = "../" * pagename.count("/")
    if language.startswith("zh"):
        return f"{up}../{pagename}.html"
    return f"{up}{ZH_FOLDER}/{pagename}.html"


def _add_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """html-page-context: prepend the switch to the page body and add the alternate link."""
    if doctree is None or "body" not in context:
        return  # generated pages (search, genindex) have no article
    language = app.config.language or "en"
    hreflang, label = LABELS["zh" if language.startswith("zh") else "en"]
    url = other_edition(pagename, language)
    context["metatags"] = context.get("metatags", "") + (
        f'<link rel="alternate" hreflang="{hreflang}" href="{url}" />\n')
    context["body"] = (
        f'<p class="language-switch" style="text-align: right; margin: 0;">'
        f'<a class="reference external" hreflang="{hreflang}" href="{url}">{label}</a></p>\n'
        + context["body"])


def setup(app: Sphinx) -> dict:
    """Connect the switch to every HTML page."""
    app.connect("html-page-context", _add_switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
