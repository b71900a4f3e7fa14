"""Check that each Chinese translation keeps what must not change: inline code, maths, the
targets of cross-references and links, footnotes, citations and every number.

A translation rewrites the prose only. Sphinx refuses a translated message whose references
differ in number from the English one (a warning, an error under ``-W``), and the book's
numbers come from stored outputs and CSVs, so a translation may reorder them but never drop,
add or change one.

    python book/_tools/i18n_markup.py [PAGE ...]   # every difference; exit 1 if any

PAGE is a catalogue's page (``book/dcgan``); without one, every catalogue is checked.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

import i18n_coverage

#: Tokens kept verbatim, in the order they are cut out of a message (each pattern sees the
#: message with the earlier ones removed): MyST roles (the target only: a role's shown title
#: may be translated), inline code, displayed and inline maths, link URLs, footnote references.
KEPT = {
    "role": re.compile(r"\{([\w:-]+)\}`(?:[^`<]*<([^`>]+)>|([^`]*))`"),
    "code": re.compile(r"``[^`]+``|`[^`]+`"),
    "maths": re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.S),
    "link": re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>\s]+)>"),
    "footnote": re.compile(r"\[\^[^\]]+\]"),
}
#: A number as the English writes it: 5,000 / 0.52 / 2014 / 1e-4 / 3x / the 1s / 99th (after the
#: kept tokens are removed, so a number inside code or maths is checked with them). Only Latin
#: letters and digits bound it: Chinese may write a digit right beside a character.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"
                    r"(?=(?:[xs]|st|nd|rd|th)?(?![A-Za-z0-9_]))")


def tokens(message: str) -> Counter:
    """The multiset of kept tokens and numbers of ``message``, as ``(kind, text)`` pairs."""
    found: Counter = Counter()
    for kind, pattern in KEPT.items():
        for match in pattern.finditer(message):
            text = "|".join(g for g in match.groups() if g) if kind in ("role", "link") \
                else match.group(0)
            found[(kind, text)] += 1
        message = pattern.sub(" ", message)
    for number in NUMBER.findall(message):
        found[("number", number.rstrip(","))] += 1
    return found


def differences(msgid: str, msgstr: str) -> list[str]:
    """What ``msgstr`` lost or gained against ``msgid``: ``["lost code `x`", ...]``; empty
    when the two keep the same tokens (an untranslated message has none to compare)."""
    if not msgstr:
        return []
    english, chinese = tokens(msgid), tokens(msgstr)
    lost = [f"lost {kind} {text}" for (kind, text), n in (english - chinese).items()
            for _ in range(n)]
    gained = [f"gained {kind} {text}" for (kind, text), n in (chinese - english).items()
              for _ in range(n)]
    return lost + gained


def check(pages: list[str]) -> list[str]:
    """One line per translated message of ``pages`` that lost or gained a kept token."""
    lines = []
    for page in pages:
        for msgid, msgstr in i18n_coverage.messages(page).items():
            problems = differences(msgid, msgstr)
            if problems:
                lines.append(f"{page}: {msgid[:70]!r}: {'; '.join(problems)}")
    return lines


if __name__ == "__main__":
    found = check(sys.argv[1:] or list(i18n_coverage.ALL))
    print("\n".join(found) or "every translation keeps its code, maths, references and numbers")
    sys.exit(1 if found else 0)
