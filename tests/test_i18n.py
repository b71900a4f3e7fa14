"""The Chinese edition's catalogues (locale/zh_CN/LC_MESSAGES/book/*.po), checked offline.

* every page of ``TRANSLATED`` (book/_tools/i18n_coverage.py: every page) has a current
  Chinese translation of every message: none untranslated, none fuzzy;
* each translation keeps its message's inline code, maths, reference targets, footnotes and
  numbers (book/_tools/i18n_markup.py);
* the catalogues are current: a fresh extraction (the gettext builder, as ``make i18n`` runs it)
  finds exactly the messages the catalogues hold, so an edit of the English prose fails here
  until ``make i18n`` has updated them (the one slow test: one gettext build, about 25 s);
* what stays English is not in them: no docstring of the API reference, no LaTeX copy of
  displayed source, no displayed maths, no paragraph of only data (run times, dates, versions).
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# The book's tools (which import each other by name) and Sphinx extensions, as they run.
sys.path[:0] = [str(ROOT / "book" / "_tools"), str(ROOT / "book" / "_ext")]
import i18n_coverage as coverage  # noqa: E402
import i18n_markup as markup  # noqa: E402
import keep_english  # noqa: E402


def _all_msgids() -> set[str]:
    return {msgid for page in coverage.ALL for msgid in coverage.messages(page)}


@pytest.mark.parametrize("page", coverage.TRANSLATED)
def test_every_message_of_a_translated_page_has_a_current_translation(page: str) -> None:
    assert page in coverage.ALL, f"no catalogue for {page}: run make i18n"
    result = coverage.coverage(page)
    missing = [msgid[:60] for msgid, msgstr in coverage.messages(page).items() if not msgstr]
    assert result.complete, f"{page}: {result.fuzzy} fuzzy, {result.untranslated} " \
                            f"untranslated, e.g. {missing[:3]}"


def test_every_page_of_the_toc_has_a_catalogue() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    pages = re.findall(r"(?:root|file):\s*(\S+)", toc)
    assert sorted(pages) == sorted(coverage.ALL)


def test_no_docstring_of_the_api_reference_is_in_a_catalogue() -> None:
    modules = re.findall(r"automodule:: (\S+)", (ROOT / "book" / "api.md").read_text())
    summaries = set()
    for name in modules:
        module = importlib.import_module(name)
        for _, member in inspect.getmembers(module, inspect.isfunction):
            doc = inspect.getdoc(member)
            if member.__module__ == name and doc:
                summaries.add(" ".join(doc.split("\n\n")[0].split()))
    assert len(summaries) > 50  # not vacuous
    msgids = {" ".join(msgid.split()) for msgid in _all_msgids()}
    assert not summaries & msgids, sorted(summaries & msgids)[:3]


def test_no_latex_copy_of_source_and_no_displayed_maths_is_in_a_catalogue() -> None:
    latex = [m for m in _all_msgids() if "\\begin{Verbatim}" in m or "\\PY{" in m]
    displayed = [m for m in _all_msgids() if m.startswith("\n") and "\\" in m]
    assert not latex and not displayed, (latex + displayed)[:2]


def test_the_catalogues_hold_exactly_the_messages_of_the_english_build(tmp_path: Path) -> None:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(jupyter_book), "build", "-n", "--keep-going", "--builder",
                            "custom", "--custom-builder", "gettext", "--path-output",
                            str(tmp_path), str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    from babel.messages.pofile import read_po

    pot_dir = tmp_path / "_build" / "gettext"
    for page in coverage.ALL:
        with (pot_dir / f"{page}.pot").open("rb") as file:
            extracted = {m.id for m in read_po(file) if m.id}
        held = set(coverage.messages(page))
        assert extracted == held, (f"{page}: run make i18n; new {sorted(extracted - held)[:2]}, "
                                   f"gone {sorted(held - extracted)[:2]}")



def test_a_translation_keeps_code_maths_references_and_numbers() -> None:
    english = "See {doc}`the theory <theory>` and `train_gan` with $z$ on 5,000 digits [^a]."
    faithful = "见{doc}`理论一章 <theory>`：`train_gan` 在 5,000 个数字上取 $z$ [^a]。"
    assert markup.differences(english, faithful) == []
    assert markup.differences(english, "") == []  # untranslated: nothing to compare
    assert markup.differences(english, "见理论一章：`train_gan` 在 5000 个数字上取 $z$ [^a]。") \
        == ["lost role doc|theory", "lost number 5,000", "gained number 5000"]


@pytest.mark.parametrize("page", coverage.ALL)
def test_every_translation_keeps_its_code_maths_references_and_numbers(page: str) -> None:
    assert markup.check([page]) == []


def test_a_paragraph_of_only_data_stays_out_of_translation() -> None:
    nodes = keep_english.nodes  # docutils, as the extension sees it
    for data in ("4 min 17 s", "22 s", "2026-12-04 13:10", "3.11.7", "2.14.1+cu130", "2"):
        assert keep_english.only_data(nodes.paragraph(text=data)), data
    for prose in ("theory", "cpu (2 cores, x86_64)", "5 seeds", "AMD EPYC", ""):
        assert not keep_english.only_data(nodes.paragraph(text=prose)), prose
    assert not keep_english.only_data(nodes.title(text="2014"))  # only paragraphs
