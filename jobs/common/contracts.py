"""Contracts as data: schemas/landing/<source>.yaml and schemas/<layer>/<table>.yaml.

Pure Python (no Spark import) so the registry, the generator and DAG files can read them.
Spark schemas are built from these in jobs.common.tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from jobs.common.config import PROJECT_ROOT
from jobs.common.errors import ContractError
from jobs.common.sources import get_source

SCHEMAS_DIR = PROJECT_ROOT / "schemas"
FIELD_TYPES = ("string", "timestamp", "date", "integer", "number", "json", "json_array")
FORMATS = ("jsonl", "csv")


def snake_case(name: str) -> str:
    """messageId -> message_id, anonymousId -> anonymous_id, customer_id stays."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@dataclass(frozen=True)
class Field:
    name: str              # as landed
    type: str
    required: bool
    description: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    item_numbers: tuple[str, ...] = ()   # json_array: item keys that must be numbers

    @property
    def column(self) -> str:
        return snake_case(self.name)


@dataclass(frozen=True)
class SourceContract:
    source: str
    description: str
    format: str
    record_id: str | None
    fields: tuple[Field, ...]
    at_least_one_of: tuple[tuple[str, ...], ...] = ()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass(frozen=True)
class Column:
    name: str
    type: str          # Spark DDL type, e.g. string, bigint, map<string,string>
    nullable: bool
    description: str


@dataclass(frozen=True)
class DataSubject:
    """How a row of a table names a person, for the data subject's rights (access, erasure).

    keys: columns holding a customer_key; nodes: columns holding identity nodes (`<type>:<value>`);
    via: (table, column): the row belongs to whoever owns the rows of `table` with the same
    `column` value (an order's items through silver.orders.order_id).
    """

    keys: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    via: tuple[str, str] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys + self.nodes + ((self.via[1],) if self.via else ())


@dataclass(frozen=True)
class TableSchema:
    table: str
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    restricted: bool = False        # clear personal data: never registered for analysts
    data_subject: DataSubject | None = None   # None: its rows name no one (aggregates, bookkeeping)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _load_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ContractError(f"contract file {path} is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: must hold a mapping")
    return data


@cache
def source_contract(source: str) -> SourceContract:
    path = get_source(source).contract
    data = _load_yaml(path)
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise ContractError(f"{path}: format {fmt!r} not allowed; use one of {', '.join(FORMATS)}")
    fields = []
    for i, raw in enumerate(data.get("fields") or []):
        where = f"{path}: fields[{i}]"
        if not isinstance(raw, dict) or "name" not in raw:
            raise ContractError(f"{where}: each field needs at least a name")
        ftype = raw.get("type", "string")
        if ftype not in FIELD_TYPES:
            raise ContractError(f"{where} ({raw['name']}): type {ftype!r} not allowed; "
                                f"use one of {', '.join(FIELD_TYPES)}")
        if not raw.get("description"):
            raise ContractError(f"{where} ({raw['name']}): add a description")
        allowed = raw.get("allowed")
        fields.append(Field(
            name=raw["name"], type=ftype, required=bool(raw.get("required", False)),
            description=raw["description"], allowed=tuple(allowed) if allowed else None,
            minimum=raw.get("min"), maximum=raw.get("max"),
            item_numbers=tuple(raw.get("item_numbers") or ()),
        ))
    if not fields:
        raise ContractError(f"{path}: no fields declared")
    names = {f.name for f in fields}
    groups = tuple(tuple(g) for g in data.get("at_least_one_of") or ())
    for group in groups:
        unknown = set(group) - names
        if unknown:
            raise ContractError(f"{path}: at_least_one_of names unknown fields {sorted(unknown)}")
    record_id = data.get("record_id")
    if record_id is not None and record_id not in names:
        raise ContractError(f"{path}: record_id {record_id!r} is not a declared field")
    return SourceContract(source=data.get("source", source), description=data.get("description", ""),
                          format=fmt, record_id=record_id, fields=tuple(fields),
                          at_least_one_of=groups)


def _columns(path: Path, data: dict) -> tuple[Column, ...]:
    cols = []
    for i, raw in enumerate(data.get("columns") or []):
        if not isinstance(raw, dict) or not raw.get("name") or not raw.get("type"):
            raise ContractError(f"{path}: columns[{i}] needs a name and a type")
        if not raw.get("description"):
            raise ContractError(f"{path}: column {raw['name']} needs a description")
        cols.append(Column(raw["name"], raw["type"], bool(raw.get("nullable", True)), raw["description"]))
    return tuple(cols)


def declared_tables() -> list[str]:
    """Every lake table with a schema file, schemas/<layer>/<entity>.yaml, as <layer>.<entity>
    (not the landing contracts, not bronze: a bronze table's schema is its source's contract)."""
    return sorted(f"{path.parent.name}.{path.stem}" for path in SCHEMAS_DIR.glob("*/*.yaml")
                  if path.parent.name not in ("landing", "bronze"))


@cache
def table_schema(table: str) -> TableSchema:
    """Schema of a table declared in schemas/<layer>/<entity>.yaml."""
    layer, _, entity = table.partition(".")
    path = SCHEMAS_DIR / layer / f"{entity}.yaml"
    data = _load_yaml(path)
    columns = _columns(path, data)
    partition_by = tuple(data.get("partition_by") or ())
    unknown = set(partition_by) - {c.name for c in columns}
    if unknown:
        raise ContractError(f"{path}: partition_by names unknown columns {sorted(unknown)}")
    return TableSchema(table=table, description=data.get("description", ""), columns=columns,
                       partition_by=partition_by, restricted=bool(data.get("restricted", False)),
                       data_subject=_data_subject(path, data.get("data_subject"), columns))


def _data_subject(path: Path, raw, columns: tuple[Column, ...]) -> DataSubject | None:
    if raw is None:
        return None
    fix = ("data_subject: {keys: [<customer_key columns>], nodes: [<identity node columns>], "
           "via: {table: <layer.entity>, column: <column>}}")
    if not isinstance(raw, dict) or set(raw) - {"keys", "nodes", "via"} or not raw:
        raise ContractError(f"{path}: data_subject must be a mapping of keys, nodes and via, e.g. {fix}")
    via = raw.get("via")
    if via is not None and (not isinstance(via, dict) or set(via) != {"table", "column"}):
        raise ContractError(f"{path}: data_subject.via must name a table and a column, e.g. {fix}")
    subject = DataSubject(keys=tuple(raw.get("keys") or ()), nodes=tuple(raw.get("nodes") or ()),
                          via=(via["table"], via["column"]) if via else None)
    unknown = sorted(set(subject.columns) - {c.name for c in columns})
    if unknown:
        raise ContractError(f"{path}: data_subject names unknown columns {unknown}; "
                            f"the table's columns: {', '.join(c.name for c in columns)}")
    return subject


@cache
def bronze_schema(source: str) -> TableSchema:
    """bronze.<source>: the contract's fields (snake_case, landed text) then the lineage columns."""
    contract = source_contract(source)
    lineage_path = SCHEMAS_DIR / "bronze" / "_lineage.yaml"
    lineage = _columns(lineage_path, _load_yaml(lineage_path))
    landed = tuple(Column(f.column, "string", True, f"{f.description} (as landed: {f.name})")
                   for f in contract.fields)
    return TableSchema(table=f"bronze.{source}", description=contract.description,
                       columns=landed + lineage)
