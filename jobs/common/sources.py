"""The sources, declared once: a landing contract and a conform module per source.

A source is a contract file `<name>.yaml` and its conform module, which holds the source's
`SourceSpec` (jobs/silver/spec.py). The project's own live in schemas/landing/ and
jobs/silver/sources/; a folder named in C360_SOURCE_PATH (os.pathsep-separated) may add more,
each contract with its `<name>.py` beside it. The registry's jobs, the config's known sources, the
silver outputs, the DAG tasks and the bronze gate's suites all follow from these files.

Standard library only: the registry and the DAG files import it at parse time, where Spark is not
installed, so the silver tables a source writes are read from its conform module's
`Output("<table>", ...)` declarations without importing the module.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jobs.common.errors import ContractError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LANDING_CONTRACTS = PROJECT_ROOT / "schemas" / "landing"
CONFORM_MODULES = PROJECT_ROOT / "jobs" / "silver" / "sources"
CONFORM_PACKAGE = "jobs.silver.sources"
SOURCE_PATH_ENV = "C360_SOURCE_PATH"


class SourceDeclarationError(ContractError):
    """A source's files disagree: a missing conform module, a name used twice, no outputs."""


@dataclass(frozen=True)
class Source:
    name: str
    contract: Path                  # <name>.yaml: what lands (schemas/landing/ or a C360_SOURCE_PATH folder)
    conform: Path | None            # <name>.py: bronze -> silver; None: bronze only, for now
    silver_outputs: tuple[str, ...]  # tables its conform module declares, in order

    @property
    def built_in(self) -> bool:
        return self.contract.parent == LANDING_CONTRACTS

    @property
    def module(self) -> str | None:
        """The conform module's import name (a source from C360_SOURCE_PATH is loaded by path)."""
        if self.conform is None:
            return None
        return f"{CONFORM_PACKAGE}.{self.name}" if self.built_in else f"c360_sources.{self.name}"


def contract_folders(environ: dict[str, str] | None = None) -> tuple[Path, ...]:
    extra = (os.environ if environ is None else environ).get(SOURCE_PATH_ENV, "")
    return (LANDING_CONTRACTS, *(Path(p).resolve() for p in extra.split(os.pathsep) if p))


def sources(environ: dict[str, str] | None = None) -> dict[str, Source]:
    """Every declared source by name, in name order (folders are read on each call: cached by folder)."""
    return _sources(contract_folders(environ))


def source_names(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    return tuple(sources(environ))


def get_source(name: str) -> Source:
    found = sources()
    if name not in found:
        raise SourceDeclarationError(
            f"unknown source '{name}': no {name}.yaml in {', '.join(map(str, contract_folders()))}; "
            f"known: {', '.join(found)}")
    return found[name]


@cache
def _sources(folders: tuple[Path, ...]) -> dict[str, Source]:
    found: dict[str, Source] = {}
    for folder in folders:
        if not folder.is_dir():
            raise SourceDeclarationError(f"{SOURCE_PATH_ENV} names {folder}, which is not a folder")
        for contract in sorted(folder.glob("*.yaml")):
            name = contract.stem
            if name in found:
                raise SourceDeclarationError(f"source '{name}' is declared twice: {found[name].contract} "
                                             f"and {contract}; rename one")
            module = (CONFORM_MODULES if folder == LANDING_CONTRACTS else folder) / f"{name}.py"
            conform = module if module.is_file() else None
            found[name] = Source(name, contract, conform, _declared_outputs(module) if conform else ())
    return dict(sorted(found.items()))


def _declared_outputs(module: Path) -> tuple[str, ...]:
    """The first argument of each `Output("<layer>.<table>", ...)` call in the module, in order."""
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    tables = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and _called_name(node.func) == "Output" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            tables.append(node.args[0].value)
    if not tables:
        raise SourceDeclarationError(f"{module}: declares no Output(\"silver.<table>\", ...) in its SPEC; "
                                     f"each silver table the source feeds needs one")
    return tuple(dict.fromkeys(tables))


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None
