"""The code uses its libraries through their public APIs only.

Private JVM classes reached through Py4J (`_jvm`, `_jdf`, `_jsparkSession`, Delta's `DeltaLog`) and
patches of a library's classes pin PySpark, delta-spark and Great Expectations to exact versions,
rule out Spark Connect and break silently on the next upgrade. This scan of the source tree fails
when one comes back, naming the file, the line and what it found.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from jobs.common.config import PROJECT_ROOT

SCANNED = ("jobs", "bench", "dags", "tests")
OUR_PACKAGES = {"jobs", "bench", "dags", "tests"}
NOT_LIBRARIES = OUR_PACKAGES | set(sys.stdlib_module_names)  # the standard library's os._exit is public
# Py4J handles of PySpark objects and Spark's or Delta's JVM internals.
PRIVATE_NAMES = {"_jvm", "_jdf", "_jsc", "_jsparkSession", "_jconf", "_jreader", "_jwrite", "_gateway",
                 "DeltaLog"}


def _sources() -> list[Path]:
    return sorted(p for top in SCANNED for p in (PROJECT_ROOT / top).rglob("*.py"))


def _library_names(tree: ast.Module) -> set[str]:
    """Names the module binds by importing from a library (not ours, not the standard library)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names
                      if a.name.split(".")[0] not in NOT_LIBRARIES}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in NOT_LIBRARIES:
                names |= {a.asname or a.name for a in node.names}
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def findings(source: str, filename: str = "<source>") -> list[str]:
    """What in `source` reaches past a library's public API: "line N: what"."""
    tree = ast.parse(source, filename)
    library = _library_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.append(f"line {node.lineno}: private JVM access `.{node.attr}`")
        elif isinstance(node, ast.Name) and node.id in PRIVATE_NAMES:
            found.append(f"line {node.lineno}: private JVM class `{node.id}`")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "delta.DeltaLog" in node.value:
            found.append(f"line {node.lineno}: Delta's internal DeltaLog by name")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _root_name(target) in library:
                    found.append(f"line {node.lineno}: monkeypatch of library attribute "
                                 f"`{ast.unparse(target)}`")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "setattr"
              and node.args and _root_name(node.args[0]) in library):
            found.append(f"line {node.lineno}: monkeypatch of library attribute via `{ast.unparse(node)[:60]}`")
        elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
              and isinstance(node.value, ast.Name) and node.value.id in library):
            found.append(f"line {node.lineno}: private library member `{ast.unparse(node)}`")
    return found


def test_no_source_file_reaches_past_a_public_api():
    problems = [f"{path.relative_to(PROJECT_ROOT)}: {finding}"
                for path in _sources() if path != Path(__file__)
                for finding in findings(path.read_text(), str(path))]
    assert not problems, ("private API use or monkeypatching (use the library's public API instead):\n  "
                          + "\n  ".join(problems))


@pytest.mark.parametrize(("source", "what"), [
    ("rows = df._jdf.collectAsList()", "private JVM access `._jdf`"),
    ("jvm = spark.sparkContext._jvm", "private JVM access `._jvm`"),
    ("spark._jsparkSession.sql('x')", "private JVM access `._jsparkSession`"),
    ("log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(s, p)", "private JVM access `.DeltaLog`"),
    ("from great_expectations.validator.validation_graph import ValidationGraph\n"
     "ValidationGraph._parse = lambda self, m: m", "monkeypatch of library attribute `ValidationGraph._parse`"),
    ("import pyspark\nsetattr(pyspark.sql.DataFrame, 'x', 1)", "monkeypatch of library attribute via"),
    ("from great_expectations.expectations import UnexpectedRowsExpectation\n"
     "v = UnexpectedRowsExpectation._validate", "private library member `UnexpectedRowsExpectation._validate`"),
])
def test_the_scan_finds_each_kind_of_private_use(source, what):
    assert any(what in finding for finding in findings(source)), findings(source)


def test_the_scan_leaves_our_own_modules_and_public_calls_alone():
    assert findings("from jobs.quality import validate\nvalidate.LOCAL_RESULT_ROWS = 3\n"
                    "from delta.tables import DeltaTable\nv = DeltaTable.forPath(spark, p).history(1)\n"
                    "self._cached = []\n") == []
