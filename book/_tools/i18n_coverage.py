"""How much of the Chinese edition is translated: per catalogue, the messages translated, fuzzy
(the English changed since) and untranslated, from ``locale/zh_CN/LC_MESSAGES/book/*.po``.

    python book/_tools/i18n_coverage.py            # the table
    python book/_tools/i18n_coverage.py --check    # exit 1 if a page of TRANSLATED is not done

``TRANSLATED`` is the one list of pages that must be fully translated (tests/test_i18n.py
enforces it): every page. A page added to the book is translated before it ships.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "zh_CN" / "LC_MESSAGES"
#: Every page that has a catalogue (``book/intro`` for ``LC_MESSAGES/book/intro.po``).
ALL = tuple(sorted(path.relative_to(LOCALE).with_suffix("").as_posix()
                   for path in LOCALE.rglob("*.po")))
#: The pages whose every message must have a current Chinese translation: all of them.
TRANSLATED: tuple[str, ...] = ALL


@dataclass(frozen=True)
class Coverage:
    """The message counts of one page's catalogue (obsolete ``#~`` entries not counted)."""

    page: str
    translated: int
    fuzzy: int
    untranslated: int

    @property
    def total(self) -> int:
        """All the page's current messages."""
        return self.translated + self.fuzzy + self.untranslated

    @property
    def complete(self) -> bool:
        """Every message translated, none fuzzy."""
        return self.translated == self.total


def catalogue(page: str) -> Path:
    """The catalogue of ``page`` (``book/intro`` -> ``locale/.../book/intro.po``)."""
    return LOCALE / f"{page}.po"


def _entries(page: str) -> list:
    """The page's current catalogue entries (babel ``Message``s; not the header)."""
    with catalogue(page).open("rb") as file:
        return [m for m in read_po(file) if m.id]


def messages(page: str) -> dict[str, str]:
    """``{msgid: msgstr}`` of the page's current messages; a fuzzy one maps to ``""``."""
    return {m.id: ("" if m.fuzzy else m.string) for m in _entries(page)}


def coverage(page: str) -> Coverage:
    """Count the translated, fuzzy and untranslated messages of ``page``'s catalogue."""
    entries = _entries(page)
    fuzzy = sum(1 for m in entries if m.fuzzy)
    untranslated = sum(1 for m in entries if not m.fuzzy and not m.string)
    return Coverage(page, len(entries) - fuzzy - untranslated, fuzzy, untranslated)


def table(rows: list[Coverage]) -> str:
    """A plain-text table of the counts, one line per page and a total line."""
    lines = [f"{'page':<28}{'translated':>11}{'fuzzy':>7}{'untranslated':>14}{'total':>7}"]
    for row in rows:
        mark = "  (must be complete)" if row.page in TRANSLATED else ""
        lines.append(f"{row.page:<28}{row.translated:>11}{row.fuzzy:>7}{row.untranslated:>14}"
                     f"{row.total:>7}{mark}")
    lines.append(f"{'all':<28}{sum(r.translated for r in rows):>11}"
                 f"{sum(r.fuzzy for r in rows):>7}{sum(r.untranslated for r in rows):>14}"
                 f"{sum(r.total for r in rows):>7}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the table; with ``--check``, return 1 if a page of TRANSLATED is incomplete."""
    rows = [coverage(page) for page in ALL]
    print(table(rows))
    missing = [row.page for row in rows if row.page in TRANSLATED and not row.complete]
    missing += [page for page in TRANSLATED if page not in ALL]
    if "--check" in argv and missing:
        print(f"not fully translated: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
