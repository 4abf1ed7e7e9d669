"""The benchmark scripts' results: one shape (``segpress.bench.record``), the machine and versions recorded.

Checks the files in benchmarks/results/ as committed (no benchmark is run here) and the helper that
writes them, on a run of its own in a temporary folder.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest

from segpress.bench.record import SCHEMA, SCHEMA_VERSION, Run, machine, machine_line, versions

jsonschema = pytest.importorskip("jsonschema")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
RESULTS = BENCHMARKS / "results"
# Files that do not follow the schema yet, and why. Strict: once one does, the test says to remove it here.
NOT_YET: dict[str, str] = {}


def _result_files() -> list:
    files = sorted(RESULTS.glob("*.json"))  # bench-*/ folders hold segpress bench's own results.json
    return [pytest.param(path, id=path.name, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[path.name]))
            if path.name in NOT_YET else pytest.param(path, id=path.name) for path in files]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", _result_files())
def test_every_results_file_follows_the_one_schema(path: Path):
    document = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["benchmark"] == path.stem
    assert (BENCHMARKS / f"{path.stem}.py").is_file(), "each file names the script that writes it"
    assert path.with_suffix(".md").is_file(), "the Markdown table sits beside the JSON"


def test_results_files_exist():
    assert len(list(RESULTS.glob("*.json"))) >= 10


def test_a_run_records_the_machine_the_versions_and_the_command(tmp_path: Path):
    run = Run("demo_bench", ["--limit", "3"], packages=("scipy", "no-such-package-segpress"))
    seen = {}

    def markdown(document: dict) -> str:
        seen.update(document)
        return f"# demo\n\n{machine_line(document)}\n"

    written = run.write(tmp_path, {"limit": 3}, {"ratio": 1 / 3, "undefined": math.nan, "curve": [1.0, math.inf]},
                        markdown, extra_versions={"libdemo": "1.2.3"}, digits=4)

    document = json.loads((tmp_path / "demo_bench.json").read_text())
    assert document == written == seen
    jsonschema.validate(document, SCHEMA)
    assert document["schema"] == SCHEMA_VERSION and document["benchmark"] == "demo_bench"
    assert document["command"] == ".venv/bin/python benchmarks/demo_bench.py --limit 3"
    assert document["seconds"] >= 0
    assert document["machine"]["cpu_count"] >= 1
    assert document["machine"]["platform"] and document["machine"]["python"]
    assert document["machine"]["load_average"] is None or len(document["machine"]["load_average"]) == 3
    assert {"segpress", "numpy", "pillow", "scipy"} <= set(document["versions"])
    assert document["versions"]["libdemo"] == "1.2.3"
    assert "no-such-package-segpress" not in document["versions"]  # not installed: left out, no error
    assert document["results"] == {"ratio": 0.3333, "undefined": None, "curve": [1.0, None]}  # strict JSON
    assert (tmp_path / "demo_bench.md").read_text().startswith("# demo\n\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo_bench.json", "demo_bench.md"]  # no temporaries


def test_machine_and_versions_describe_this_interpreter():
    import platform

    import numpy

    found = machine()
    assert found["python"] == platform.python_version()
    assert versions()["numpy"] == numpy.__version__


def test_the_line_under_a_table_says_when_the_machine_was_not_recorded():
    document = {"created": None, "machine": {"platform": None, "cpu_count": None, "python": None,
                                             "load_average": None}}
    assert machine_line(document) == "date not recorded, machine not recorded"


def test_no_benchmark_script_imports_another_script():
    """Shared code lives in a module (benchmarks/common.py, text_scenes.py), not in a script with a main."""
    scripts = {path.stem for path in BENCHMARKS.glob("*.py") if "__main__" in path.read_text()}
    for path in BENCHMARKS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            assert not set(names) & scripts, f"{path.name} imports the script {set(names) & scripts}"
