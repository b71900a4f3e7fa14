"""The CI workflows, the lock and the declared dependency groups, checked offline.

* ``.github/workflows/*.yml`` are valid against GitHub's workflow schema (``check-jsonschema
  --builtin-schema vendor.github-workflows``: the schema ships with it, nothing is downloaded),
  and ``test.yml`` runs what the README promises: ``make test`` on ``ubuntu-latest`` for
  every push and pull request, a macOS smoke job from the lock, a manual GPU job.
* ``requirements.txt`` is the ``uv pip compile --universal`` lock of every group of
  ``pyproject.toml`` (``make lock``), with the tested torch pair.
* Every third-party module that the package, a chapter, the tests or the book's tools import is
  declared in the group that needs it (the failure-modes chapter's pandas once arrived only
  because mlxtend pulled it in).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
LOCK = (ROOT / "requirements.txt").read_text()


def _name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)[1]
    return re.sub(r"[-_.]+", "-", name).lower()


def _workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def _run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


# --- the workflows ---------------------------------------------------------------------------


def test_workflows_are_valid() -> None:
    checker = (shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
               or shutil.which("check-jsonschema"))
    assert checker, "check-jsonschema not found: pip install '.[test]'"
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert any(path.endswith("test.yml") for path in files)
    result = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows", *files],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_push_and_pull_request_runs_make_test_on_ubuntu() -> None:
    workflow = _workflow("test.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert "branches" not in (workflow["on"]["push"] or {})  # every branch
    linux = workflow["jobs"]["linux"]
    assert linux["runs-on"] == "ubuntu-latest"
    assert re.search(r"^make test$", _run_lines(linux), re.M)
    assert linux["env"]["CI"] == "true"  # so that a missing browser fails instead of skipping
    assert "/usr/bin/chromium" in _run_lines(linux) and "/usr/bin/chromedriver" in _run_lines(linux)


def test_macos_installs_from_the_lock_and_runs_the_unit_tests_and_a_chapter() -> None:
    macos = _workflow("test.yml")["jobs"]["macos"]
    assert macos["runs-on"] == "macos-latest"
    runs = _run_lines(macos)
    assert "make install" in runs
    assert re.search(r"pytest .*tests", runs)
    chapter = re.search(r"pytest .*--nbval-lax .*(book/\w+\.ipynb)", runs)
    assert chapter and (ROOT / chapter[1]).exists()
    versions = macos["strategy"]["matrix"]["python-version"]
    assert min(versions, key=lambda v: tuple(map(int, v.split(".")))) == _lowest_python()


def test_the_gpu_job_is_manual_and_runs_make_execute() -> None:
    workflow = _workflow("test.yml")
    gpu = workflow["jobs"]["gpu"]
    assert "workflow_dispatch" in workflow["on"]
    assert "workflow_dispatch" in gpu["if"] and "GPU_RUNNER" in gpu["runs-on"]
    assert "make execute NB=" in _run_lines(gpu)


# --- the lock and the groups -----------------------------------------------------------------


def _lowest_python() -> str:
    return re.fullmatch(r">=\s*(3\.\d+)", PROJECT["requires-python"])[1]


def _locked() -> dict[str, list[str]]:
    """``{name: [version, ...]}`` of requirements.txt (a name may fork by platform or Python)."""
    pins: dict[str, list[str]] = {}
    for line in LOCK.splitlines():
        if line and not line.startswith((" ", "#")):
            name, version = re.match(r"([^=\s]+)==([^\s;]+)", line).groups()
            pins.setdefault(_name(name), []).append(version)
    return pins


def test_the_lock_covers_every_group_and_pins_the_tested_torch() -> None:
    locked = _locked()
    groups = [PROJECT["dependencies"], *PROJECT["optional-dependencies"].values()]
    declared = {_name(r) for group in groups for r in group} - {_name(PROJECT["name"])}
    assert not declared - set(locked), "run `make lock`: requirements.txt lacks these"
    makefile = (ROOT / "Makefile").read_text()
    torch_pins = re.search(r"^TORCH\s*:=\s*(.*)$", makefile, re.M)[1].split()
    for pin in torch_pins:
        name, version = pin.split("==")
        assert locked[name] == [version], f"requirements.txt must pin {pin} on every platform"
    assert "uv pip compile --universal" in LOCK.split("\n\n")[0]  # the header says how
    # The lock's lowest Python is the one pyproject.toml and the README promise.
    assert re.search(r"^LOCK_PYTHON\s*:=\s*(\S+)", makefile, re.M)[1] == _lowest_python()


def test_make_install_checks_the_declared_dependencies() -> None:
    makefile = (ROOT / "Makefile").read_text()
    install = makefile[makefile.index("$(STAMP):"):makefile.index("touch $(STAMP)")]
    assert "-r requirements.txt" in install
    assert "--no-deps" not in install and "pip check" in install
    extras = re.search(r"^EXTRAS\s*:=\s*(\S+)", makefile, re.M)[1].split(",")
    assert sorted(extras) == sorted(PROJECT["optional-dependencies"])


def _imports(source: str) -> set[str]:
    source = "\n".join(line for line in source.splitlines()
                       if not line.lstrip().startswith(("%", "!")))
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _third_party(paths: list[Path]) -> set[str]:
    modules: set[str] = set()
    for path in paths:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            for cell in cells:
                if cell["cell_type"] == "code":
                    modules |= _imports("".join(cell["source"]))
        else:
            modules |= _imports(path.read_text())
    # e.g. the tests' conftest, and the book's tools and extensions, imported by name
    local = {path.stem for path in [*paths, *ROOT.glob("book/_tools/*.py"),
                                    *ROOT.glob("book/_ext/*.py")]}
    return modules - set(sys.stdlib_module_names) - {"gan_tutorial", "__future__"} - local


# Where each kind of code runs, and the groups that must declare what it imports.
USERS = {
    "the package and the chapters": (["gan_tutorial/**/*.py", "book/*.ipynb", "benchmarks/*.py"],
                                     ["runtime"]),
    "the book's tools": (["book/_tools/*.py"], ["runtime", "run"]),
    "the Chinese edition's tools": (["book/_tools/build_zh.py", "book/_tools/i18n_coverage.py",
                                     "book/_tools/i18n_markup.py",
                                     "book/_ext/*.py"], ["runtime", "docs"]),
    "the tests": (["tests/*.py", "book/conftest.py"], ["runtime", "test"]),
}


def _paths(user: str) -> list[Path]:
    return [path for pattern in USERS[user][0] for path in ROOT.glob(pattern)]


@pytest.mark.parametrize("user", USERS)
def test_every_import_is_declared_in_the_group_that_needs_it(user: str) -> None:
    patterns, groups = USERS[user]
    paths = [path for pattern in patterns for path in ROOT.glob(pattern)]
    if user == "the book's tools":  # the Chinese edition's tools run with docs, not run
        paths = [path for path in paths if path not in _paths("the Chinese edition's tools")]
    assert paths
    declared = set()
    for group in groups:
        for requirement in (PROJECT["dependencies"] if group == "runtime"
                            else PROJECT["optional-dependencies"][group]):
            declared.add(_name(requirement))
    providers = packages_distributions()
    undeclared = {}
    for module in sorted(_third_party(paths)):
        # A module not installed here (tomli on Python 3.11+) must be named like its distribution.
        dists = {_name(d) for d in providers.get(module, [])} or {_name(module)}
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert not undeclared, f"{user} import these, undeclared in {groups}: {undeclared}"
