"""Suite files: expectations/<layer>_<entity>.yaml, one per table, reviewed like code.

    table: bronze.events
    description: What one run ingested into bronze.events must satisfy before silver reads it.
    expectations:
      - name: message_id_present          # snake_case; the quarantine reason for `drop`
        kind: not_null                     # one of jobs.quality.kinds.KINDS
        column: message_id                 # the kind's parameters
        severity: fail                     # fail | drop | warn
        why: Silver deduplicates on it.    # optional; shown in Data Docs

Loading checks everything that can be checked without data: known kind, severity allowed for
the kind, parameters present and of the right type, columns known to the table's declared
schema. Each error names the file, the expectation and the field.

A bronze table with no suite file of its own (a source just added) is judged by the suite its
landing contract implies: columns as declared, lineage present, required fields present, enum
fields within their allowed values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from jobs.common.config import PROJECT_ROOT
from jobs.common.contracts import (
    SCHEMAS_DIR,
    TableSchema,
    bronze_schema,
    source_contract,
    table_schema,
)
from jobs.common.sources import get_source, source_names
from jobs.quality.errors import SuiteError
from jobs.quality.kinds import KINDS, SEVERITIES, Kind, Param, Spec, valid_regex

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
TABLE_NAME = re.compile(r"^(bronze|silver|gold|ops)\.[a-z][a-z0-9_]*$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
COMMON_KEYS = ("name", "kind", "severity", "why")


@dataclass(frozen=True)
class Suite:
    name: str                 # file stem, also the GX suite name
    table: str
    description: str
    specs: tuple[Spec, ...]
    path: str

    @property
    def layer(self) -> str:
        return self.table.partition(".")[0]

    def kind(self, spec: Spec) -> Kind:
        return KINDS[spec.kind]

    @property
    def drop_specs(self) -> tuple[Spec, ...]:
        return tuple(s for s in self.specs if s.severity == "drop")


def suite_name(table: str) -> str:
    """bronze.events -> bronze_events (the file stem)."""
    return table.replace(".", "_")


def load_suite(name: str, directory: Path | None = None) -> Suite:
    path = (directory or EXPECTATIONS_DIR) / f"{name}.yaml"
    shown = _shown(path)
    layer, _, entity = name.partition("_")
    if not path.is_file() and layer == "bronze" and entity in source_names():
        return parse_suite(contract_suite(entity), f"{shown} (absent: implied by the {entity} contract)", name)
    if not path.is_file():
        raise SuiteError(f"{shown}: suite file is missing; every gated table needs one "
                         f"(see expectations/README.md)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{shown}: not valid YAML: {exc}") from None
    return parse_suite(data, shown, name)


def parse_suite(data, where: str, name: str) -> Suite:
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: must hold a mapping with table, description, expectations")
    unknown = set(data) - {"table", "description", "expectations"}
    if unknown:
        raise SuiteError(f"{where}: unknown top-level keys {sorted(unknown)}; "
                         f"allowed: table, description, expectations")
    table = data.get("table")
    if not isinstance(table, str) or not TABLE_NAME.match(table):
        raise SuiteError(f"{where}: table {table!r} is not a <layer>.<entity> name "
                         f"(layer bronze, silver, gold or ops)")
    if suite_name(table) != name:
        raise SuiteError(f"{where}: guards {table}, so the file must be named {suite_name(table)}.yaml")
    raw_specs = data.get("expectations")
    if not isinstance(raw_specs, list) or not raw_specs:
        raise SuiteError(f"{where}: 'expectations' must be a non-empty list")
    declared = declared_schema(table)
    specs, seen = [], set()
    for i, raw in enumerate(raw_specs, start=1):
        spec = _parse_spec(raw, where, i, table)
        if spec.name in seen:
            raise SuiteError(f"{spec.where}: name '{spec.name}' is used twice in the suite")
        seen.add(spec.name)
        if declared is not None:
            check_columns_known(spec, [c.name for c in declared.columns], table)
        specs.append(spec)
    return Suite(name=name, table=table, description=str(data.get("description") or ""),
                 specs=tuple(specs), path=where)


def contract_suite(source: str) -> dict:
    """The suite a landing contract implies for bronze.<source>, as a suite file would hold it."""
    contract, schema = source_contract(source), bronze_schema(source)
    where = _shown(get_source(source).contract)
    expectations = [
        {"name": "columns_as_declared", "kind": "schema", "severity": "fail",
         "why": "Silver reads bronze by column name and type."},
        {"name": "lineage_present", "kind": "not_null", "severity": "fail",
         "columns": [c.name for c in schema.columns if c.name.startswith("_") and not c.nullable],
         "why": "Every row must lead back to its landed file and line."},
    ]
    required = [f.column for f in contract.fields if f.required]
    if required:
        expectations.append({"name": "required_fields_present", "kind": "not_null", "severity": "fail",
                             "columns": required, "why": f"The contract ({where}) requires them."})
    expectations += [{"name": f"{f.column}_allowed", "kind": "accepted_values", "severity": "fail",
                      "column": f.column, "values": list(f.allowed),
                      "why": f"The contract ({where}) allows only these."}
                     for f in contract.fields if f.allowed]
    return {"table": f"bronze.{source}", "description": contract.description, "expectations": expectations}


def declared_schema(table: str) -> TableSchema | None:
    """The schema under schemas/ for a table, or None when the table declares none (yet)."""
    layer, _, entity = table.partition(".")
    if layer == "bronze":   # the source's landing contract plus the lineage columns
        return bronze_schema(entity) if entity in source_names() else None
    if not (SCHEMAS_DIR / layer / f"{entity}.yaml").is_file():
        return None
    return table_schema(table)


def check_columns_known(spec: Spec, columns: Iterable[str], table: str) -> None:
    known = list(columns)
    for column in KINDS[spec.kind].columns(spec):
        if column not in known:
            raise SuiteError(f"{spec.where}: unknown column '{column}' for {table}; "
                             f"its columns: {', '.join(known)}")


def _parse_spec(raw, file: str, index: int, table: str) -> Spec:
    where = f"{file}: expectation #{index}"
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: must be a mapping with name, kind, severity and the kind's parameters")
    name = raw.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise SuiteError(f"{where}: name {name!r} must be snake_case (it becomes a quarantine reason)")
    where = f"{file}: expectation '{name}' (#{index})"
    kind_name = raw.get("kind")
    if kind_name not in KINDS:
        raise SuiteError(f"{where}: unknown kind {kind_name!r}; known kinds: {', '.join(sorted(KINDS))}")
    kind = KINDS[kind_name]
    severity = raw.get("severity")
    allowed = SEVERITIES if kind.scope == "row" else ("fail", "warn")
    if severity not in allowed:
        why = "" if kind.scope == "row" else f" ({kind_name} judges the batch as a whole, not rows)"
        raise SuiteError(f"{where}: severity {severity!r} not allowed for {kind_name}{why}; "
                         f"use one of {', '.join(allowed)}")
    if kind.tables and table not in kind.tables:
        raise SuiteError(f"{where}: kind {kind_name} applies to {', '.join(kind.tables)} only, not {table}")
    why_text = raw.get("why", "")
    if not isinstance(why_text, str):
        raise SuiteError(f"{where}: 'why' must be text")
    params = _parse_params(kind, {k: v for k, v in raw.items() if k not in COMMON_KEYS}, where)
    spec = Spec(name=name, kind=kind_name, severity=severity, why=why_text.strip(), params=params,
                where=where)
    if kind_name == "between" and params["min"] is None and params["max"] is None:
        raise SuiteError(f"{where}: between needs min, max or both")
    return spec


def _parse_params(kind: Kind, raw: dict, where: str) -> dict:
    declared = {p.name: p for p in kind.params}
    if "column" in raw and "columns" in declared and "column" not in declared:
        # `column: x` is shorthand for `columns: [x]`
        raw = {("columns" if k == "column" else k): v for k, v in raw.items()}
    unknown = set(raw) - set(declared)
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise SuiteError(f"{where}: unknown field(s) {sorted(unknown)} for kind {kind.name}; "
                         f"its fields: {allowed} (plus {', '.join(COMMON_KEYS)})")
    params = {}
    for p in kind.params:
        if p.name not in raw or raw[p.name] is None:
            if p.required:
                raise SuiteError(f"{where}: field '{p.name}' is required for kind {kind.name}"
                                 + (f" ({p.help})" if p.help else ""))
            params[p.name] = p.default
            continue
        params[p.name] = _typed(p, raw[p.name], where)
    return params


def _typed(p: Param, value, where: str):
    def bad(expected: str):
        raise SuiteError(f"{where}: field '{p.name}' must be {expected}, got {value!r}")

    if p.type in ("str", "sql"):
        if not isinstance(value, str) or not value.strip():
            bad("non-empty text")
        return value.strip()
    if p.type == "regex":
        if not isinstance(value, str) or not valid_regex(value):
            bad("a valid regular expression")
        return value
    if p.type in ("number", "int"):
        ok = isinstance(value, int) if p.type == "int" else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or value < 0:
            bad("a non-negative " + ("integer" if p.type == "int" else "number"))
        return value
    if p.type == "columns":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(c, str) and c for c in items):
            bad("a column name or a non-empty list of column names")
        return tuple(items)
    if p.type == "number_map":
        if not isinstance(value, dict) or not value or not all(
                isinstance(k, str) and k and isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for k, v in value.items()):
            bad("a mapping of names to non-negative numbers, e.g. {campaigns: 168}")
        return dict(value)
    if p.type == "values":
        if not isinstance(value, list) or not value or any(isinstance(v, (dict, list)) for v in value):
            bad("a non-empty list of plain values")
        return tuple(value)
    raise AssertionError(f"parameter type {p.type} has no parser")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
