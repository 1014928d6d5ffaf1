"""One module per source: pure bronze -> silver transformations and the source's SourceSpec.

Which module belongs to which source is declared by the files themselves (jobs.common.sources):
jobs/silver/sources/<name>.py here, or <name>.py beside a contract in a C360_SOURCE_PATH folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from jobs.common.errors import ContractError
from jobs.common.sources import get_source
from jobs.silver.spec import SourceSpec


def spec_for(source: str) -> SourceSpec:
    declared = get_source(source)
    if declared.conform is None:
        raise ContractError(f"source '{source}' has a contract ({declared.contract}) but no conform module: "
                            f"write jobs/silver/sources/{source}.py (or {source}.py beside the contract) "
                            f"with its SPEC = SourceSpec(...) before running silver_{source}")
    module = sys.modules.get(declared.module) or _import(declared)
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, SourceSpec) or spec.source != source:
        raise ContractError(f"{declared.conform}: needs SPEC = SourceSpec(source='{source}', ...)")
    return spec


def _import(declared):
    if declared.built_in:
        return importlib.import_module(declared.module)
    # A source from a C360_SOURCE_PATH folder: its module is loaded from its file, once per process.
    spec = importlib.util.spec_from_file_location(declared.module, declared.conform)
    module = importlib.util.module_from_spec(spec)
    sys.modules[declared.module] = module
    spec.loader.exec_module(module)
    return module
