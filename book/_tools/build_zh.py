"""Build the Chinese edition of the book into ``_build/html/zh_CN/``.

The same sources, config and stored outputs as the English build, with Sphinx's ``language``
set to ``zh_CN``: Sphinx then replaces each message of a page by its translation in
``locale/zh_CN/LC_MESSAGES/<page>.po`` (an untranslated one stays English) and builds the
Chinese search index (jieba). Jupyter Book v1 has no option for a single setting, so this writes
``_build/zh_CN/_config.yml`` (``_config.yml`` with the language and the Chinese title), builds
with it into ``_build/zh_CN/_build/html`` (its own doctrees, so the two editions never share a
cache) and copies the result into the English site, where the language switch expects it.

The Chinese search index splits the prose into words with jieba, which does not know the
book's terms: 判别器 would be indexed as 判别 + 器 and a search for it would find nothing. The
glossary's Chinese terms are therefore given to jieba as a user dictionary
(``html_search_options``), written from the glossary's catalogue on every build.

    python book/_tools/build_zh.py [jupyter-book build options, e.g. -W -n --keep-going]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from i18n_coverage import messages

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = "zh_CN"
#: The book's title in the Chinese edition (the English one is ``title`` in _config.yml).
TITLE = "生成对抗网络：创造与辨别的博弈"
WORK = ROOT / "_build" / LANGUAGE
SITE = ROOT / "_build" / "html" / LANGUAGE
#: The Chinese search's user dictionary for jieba, one term per line.
SEARCH_TERMS = WORK / "search_terms.txt"
#: One Chinese term: a run of Chinese characters.
CHINESE_TERM = re.compile(r"[\u4e00-\u9fff]+")


def glossary_terms() -> list[str]:
    """The Chinese terms of the glossary: its 中文 column (the messages written in Chinese in
    the English source too), split where alternatives or two terms are joined: parentheses,
    commas, 和 and 的 ("判别器（鉴别器）" gives 判别器 and 鉴别器); terms that mix in Latin words
    are left out."""
    terms = set()
    for msgid in messages("book/glossary"):
        if CHINESE_TERM.search(msgid):
            for part in re.split(r"[（），、和的]", msgid):
                if CHINESE_TERM.fullmatch(part.strip()):
                    terms.add(part.strip())
    return sorted(terms)


def zh_config(config: dict) -> dict:
    """``_config.yml``'s settings for the Chinese edition: the language and title set, and the
    local extensions' folders made absolute (Jupyter Book resolves them beside the config)."""
    config = dict(config, title=TITLE)
    sphinx = dict(config.get("sphinx", {}))
    sphinx["config"] = dict(sphinx.get("config", {}), language=LANGUAGE,
                            html_search_options={"dict": str(SEARCH_TERMS)})
    sphinx["local_extensions"] = {name: str((ROOT / path).resolve())
                                  for name, path in sphinx.get("local_extensions", {}).items()}
    config["sphinx"] = sphinx
    return config


def build(options: list[str]) -> int:
    """Build the Chinese edition with ``jupyter-book build <options>``; copy it into
    ``_build/html/zh_CN/``. Returns the build's exit status (nothing is copied on failure)."""
    WORK.mkdir(parents=True, exist_ok=True)
    config = WORK / "_config.yml"
    english = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump(zh_config(english), allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    SEARCH_TERMS.write_text("".join(f"{term}\n" for term in glossary_terms()), encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    status = subprocess.run([str(jupyter_book), "build", *options, "--config", str(config),
                             "--path-output", str(WORK), str(ROOT)], cwd=ROOT).returncode
    if status == 0:
        shutil.rmtree(SITE, ignore_errors=True)
        shutil.copytree(WORK / "_build" / "html", SITE)
    return status


if __name__ == "__main__":
    sys.exit(build(sys.argv[1:]))
