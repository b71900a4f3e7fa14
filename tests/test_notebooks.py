"""Every chapter as a reader gets it: Colab-ready, parameterised, stored from a logged full run."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str):
    """Import a script of book/_tools as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


CHAPTERS = [ROOT / f"{name}.ipynb" for name in _toc_files() if (ROOT / f"{name}.ipynb").exists()]
colab = _tool("colab")


def test_every_file_in_the_toc_exists_and_every_notebook_is_in_it() -> None:
    for name in _toc_files():
        assert (ROOT / f"{name}.md").exists() or (ROOT / f"{name}.ipynb").exists(), name
    assert sorted(CHAPTERS) == sorted((ROOT / "book").glob("[!.]*.ipynb"))


@pytest.fixture(params=CHAPTERS, ids=[c.stem for c in CHAPTERS])
def chapter(request) -> nbformat.NotebookNode:
    nb = nbformat.read(request.param, as_version=4)
    nb.path = request.param
    return nb


def test_first_code_cell_installs_the_package_only_under_colab(chapter) -> None:
    url, _ = colab.repository()
    first_code = next(cell for cell in chapter.cells if cell.cell_type == "code")
    assert first_code.source == colab.install_cell()
    assert 'if "google.colab" in sys.modules:' in first_code.source
    assert f"git+{url}" in first_code.source


def test_title_is_followed_by_an_open_in_colab_badge(chapter) -> None:
    lines = chapter.cells[0].source.split("\n")
    assert lines[0].startswith("# ")
    assert colab.badge(chapter.path) in lines[1:4]
    assert (ROOT / "book" / colab.BADGE_IMAGE).exists()


def test_has_a_parameters_cell_with_a_smoke_switch(chapter) -> None:
    tagged = [cell for cell in chapter.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert 'os.environ.get("GAN_TUTORIAL_SMOKE") == "1"' in tagged[0].source


def test_has_a_python3_kernel_spec(chapter) -> None:
    assert chapter.metadata["kernelspec"]["name"] == "python3"
    assert chapter.metadata["kernelspec"]["language"] == "python"


def test_no_error_outputs_are_stored(chapter) -> None:
    for index, cell in enumerate(chapter.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index} stores an error"
            assert "Traceback (most recent call last)" not in output.get("text", ""), index


def test_stored_outputs_come_from_the_logged_full_run(chapter) -> None:
    log = json.loads((ROOT / "book" / "run_log.json").read_text())
    key = chapter.path.relative_to(ROOT).as_posix()
    papermill = chapter.metadata["papermill"]
    assert key in log, f"{key} has no entry in book/run_log.json: run `make execute`"
    assert log[key]["finished"] == papermill["end_time"], "stored outputs are not the logged run"
    assert papermill["exception"] is None and papermill["parameters"] == {}
    page = (ROOT / "book" / "how_this_book_was_run.md").read_text()
    assert f"{{doc}}`{chapter.path.stem}`" in page


def test_summary_and_exercises_end_the_chapter(chapter) -> None:
    headings = [line for cell in chapter.cells if cell.cell_type == "markdown"
                for line in cell.source.split("\n") if line.startswith("## ")]
    assert any("Summary" in h for h in headings[-3:]), headings[-3:]
    assert any("Exercises" in h for h in headings[-3:]), headings[-3:]


def test_every_exercise_has_a_collapsed_solution_cell(chapter) -> None:
    exercises = next(cell.source for cell in chapter.cells if cell.cell_type == "markdown"
                     and "## Exercises" in cell.source)
    numbers = set(re.findall(r"^(\d+)\. \*\*", exercises.split("## Exercises")[1], re.M))
    solved = {match.group(1) for cell in chapter.cells if cell.cell_type == "code"
              and "hide-cell" in cell.metadata.get("tags", [])
              for match in [re.match(r"# Solution (\d+)[.:]", cell.source)] if match}
    assert numbers, "no numbered exercises found"
    assert numbers == solved, f"exercises {sorted(numbers)}, solutions {sorted(solved)}"


def test_displayed_code_fits_80_columns(chapter) -> None:
    long = [(index, line) for index, cell in enumerate(chapter.cells)
            if cell.cell_type == "code" and not set(cell.metadata.get("tags", [])) & HIDDEN_SOURCE
            for line in cell.source.split("\n") if len(line) > 80]
    assert not long, f"lines over 80 characters in displayed code (cell, line): {long}"


#: Words of the workshop that no reader should meet on a page (DESIGN.md, convention 11).
WORKSHOP_WORDS = ("chapter's goals", "(goal ", "we asked", "closing note", "source tutorial",
                  "nbval", "gan_tutorial_smoke", "/tmp/", "name or service not known",
                  "earlier version of this book", "had no internet", "meant to run", "gpu call",
                  "minutes of gpu", "nan ± nan")
HIDDEN_SOURCE = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
HIDDEN_OUTPUT = {"hide-output", "remove-output", "hide-cell", "remove-cell"}


def _visible_text(cell: nbformat.NotebookNode) -> list[str]:
    """The source and outputs of a cell that the rendered page shows uncollapsed."""
    tags = set(cell.metadata.get("tags", []))
    texts = [] if tags & HIDDEN_SOURCE else [cell.source]
    if cell.cell_type != "code" or tags & HIDDEN_OUTPUT:
        return texts
    for output in cell.get("outputs", []):
        if output.get("name") == "stderr" and "remove-stderr" in tags:
            continue
        texts.append(output.get("text", "") + json.dumps(output.get("data", {}),
                                                         ensure_ascii=False))
    return texts


def test_no_page_shows_the_workshop(chapter) -> None:
    found = [(index, word) for index, cell in enumerate(chapter.cells)
             for text in _visible_text(cell) for word in WORKSHOP_WORDS if word in text.lower()]
    assert not found, f"visible on the page (cell, text): {found}"


@pytest.mark.parametrize("page", ["intro", "background", "faq", "api"])
def test_no_markdown_page_shows_the_workshop(page: str) -> None:
    text = (ROOT / "book" / f"{page}.md").read_text().lower()
    assert not [word for word in WORKSHOP_WORDS if word in text]


def test_result_files_are_loaded_through_the_registry_and_without_pickles(chapter) -> None:
    """A chapter opened alone (Colab, a downloaded notebook) has no book/results/ beside it:
    ``gan_tutorial.results.path`` finds or fetches each file; ``.pt`` files hold tensors only."""
    code = "\n".join(cell.source for cell in chapter.cells if cell.cell_type == "code")
    assert not re.search(r"""["']results[/"']|\{results\}/""", code), "use results.path(name)"
    for call in re.findall(r"torch\.load\((.*?)\)\s*$", code, re.M | re.S):
        assert "weights_only=True" in call, call


def test_the_times_of_the_intro_and_readme_are_the_run_logs() -> None:
    execute = _tool("execute")
    table = "\n".join(execute.times_table(execute._entries()))
    assert (ROOT / "book" / "_chapter_times.md").read_text() == table + "\n"
    start, end = execute.README_MARKERS
    readme = (ROOT / "README.md").read_text()
    assert f"{start}\n{table}\n{end}" in readme, "run book/_tools/execute.py --record ..."
    assert "```{include} _chapter_times.md" in (ROOT / "book" / "intro.md").read_text()


@pytest.mark.parametrize("page", ["README.md", "book/intro.md"])
def test_the_laptop_install_names_the_books_repository(page: str) -> None:
    url, branch = colab.repository()
    owner_repo = url.removeprefix("https://github.com/")
    text = (ROOT / page).read_text()
    assert f'pip install "gan-tutorial @ git+{url}" jupyterlab' in text
    assert f"https://raw.githubusercontent.com/{owner_repo}/{branch}/book/" in text
