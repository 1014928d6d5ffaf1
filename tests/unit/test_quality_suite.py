"""Suite files: every shipped suite loads, and every mistake gives an error naming file, expectation, field."""

from __future__ import annotations

import pytest
import yaml

from jobs.quality.errors import SuiteError
from jobs.quality.suite import EXPECTATIONS_DIR, load_suite, parse_suite


def _write(tmp_path, name: str, expectations: list[dict], table: str | None = None) -> str:
    table = table or name.replace("_", ".", 1)
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"table": table, "expectations": expectations}))
    return name


def _error(tmp_path, name, expectations, table=None) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(_write(tmp_path, name, expectations, table), directory=tmp_path)
    return str(info.value)


@pytest.mark.parametrize("path", sorted(EXPECTATIONS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_suite_loads(path):
    suite = load_suite(path.stem)
    assert suite.table.replace(".", "_") == path.stem
    assert suite.specs


def test_a_suite_per_bronze_source_and_for_the_quarantine_and_the_ingested_files():
    from jobs.registry import SOURCES

    assert {p.stem for p in EXPECTATIONS_DIR.glob("*.yaml")} >= {f"bronze_{s}" for s in SOURCES} | {
        "ops_quarantine", "ops_ingested_files"}


def test_parsed_spec_has_defaults_and_column_shorthand(tmp_path):
    suite = load_suite(_write(tmp_path, "bronze_events", [
        {"name": "id_present", "kind": "not_null", "column": "message_id", "severity": "fail"},
        {"name": "recent", "kind": "not_in_future", "column": "timestamp", "severity": "warn", "why": " clocks "},
    ]), directory=tmp_path)
    present, recent = suite.specs
    assert present.params == {"columns": ("message_id",)}
    assert recent.params == {"column": "timestamp", "tolerance_hours": 24}
    assert recent.why == "clocks"
    assert suite.drop_specs == ()


def test_unknown_column_names_file_expectation_and_the_known_columns(tmp_path):
    message = _error(tmp_path, "bronze_events", [
        {"name": "ok", "kind": "not_null", "column": "message_id", "severity": "fail"},
        {"name": "typo", "kind": "not_null", "column": "mesage_id", "severity": "fail"},
    ])
    assert "bronze_events.yaml: expectation 'typo' (#2)" in message
    assert "unknown column 'mesage_id' for bronze.events" in message
    assert "message_id" in message.split("its columns:")[1]


def test_unknown_kind_lists_the_known_kinds(tmp_path):
    message = _error(tmp_path, "bronze_events", [
        {"name": "odd", "kind": "expect_column_values_to_be_odd", "column": "type", "severity": "warn"}])
    assert "expectation 'odd' (#1): unknown kind 'expect_column_values_to_be_odd'" in message
    assert "not_null" in message and "daily_volume" in message


@pytest.mark.parametrize("spec, fragment", [
    ({"name": "n", "kind": "not_null", "column": "type", "severity": "block"},
     "severity 'block' not allowed for not_null; use one of fail, drop, warn"),
    ({"name": "v", "kind": "daily_volume", "date_column": "timestamp", "severity": "drop"},
     "severity 'drop' not allowed for daily_volume (daily_volume judges the batch as a whole"),
    ({"name": "a", "kind": "accepted_values", "column": "type", "severity": "fail"},
     "field 'values' is required for kind accepted_values"),
    ({"name": "a", "kind": "accepted_values", "column": "type", "values": "track", "severity": "fail"},
     "field 'values' must be a non-empty list of plain values, got 'track'"),
    ({"name": "a", "kind": "not_null", "column": "type", "severity": "fail", "min": 3},
     "unknown field(s) ['min'] for kind not_null; its fields: columns"),
    ({"name": "r", "kind": "regex", "column": "type", "pattern": "([a-z", "severity": "fail"},
     "field 'pattern' must be a valid regular expression"),
    ({"name": "b", "kind": "between", "column": "type", "severity": "fail"},
     "between needs min, max or both"),
    ({"name": "v", "kind": "daily_volume", "date_column": "timestamp", "min_ratio": -1, "severity": "fail"},
     "field 'min_ratio' must be a non-negative number, got -1"),
    ({"name": "Bad-Name", "kind": "not_null", "column": "type", "severity": "fail"},
     "name 'Bad-Name' must be snake_case"),
])
def test_each_mistake_is_named(tmp_path, spec, fragment):
    assert fragment in _error(tmp_path, "bronze_events", [spec])


@pytest.mark.parametrize("spec, fragment", [
    ({"name": "f", "kind": "freshness", "max_age_hours": -1, "severity": "fail"},
     "field 'max_age_hours' must be a non-negative number, got -1"),
    ({"name": "f", "kind": "freshness", "max_age_hours": 48, "max_age_hours_by_source": {"campaigns": "weekly"},
      "severity": "fail"},
     "field 'max_age_hours_by_source' must be a mapping of names to non-negative numbers, e.g. {campaigns: 168}"),
])
def test_ingestion_kind_mistakes_are_named(tmp_path, spec, fragment):
    assert fragment in _error(tmp_path, "ops_ingested_files", [spec])


def test_ingestion_kinds_are_refused_elsewhere(tmp_path):
    message = _error(tmp_path, "bronze_orders", [
        {"name": "fresh", "kind": "freshness", "max_age_hours": 24, "severity": "fail"}])
    assert "kind freshness applies to ops.ingested_files only, not bronze.orders" in message


def test_file_name_must_match_the_table(tmp_path):
    message = _error(tmp_path, "bronze_events", [
        {"name": "n", "kind": "not_null", "column": "order_id", "severity": "fail"}], table="bronze.orders")
    assert "guards bronze.orders, so the file must be named bronze_orders.yaml" in message


def test_duplicate_names_and_missing_file(tmp_path):
    spec = {"name": "same", "kind": "not_null", "column": "type", "severity": "fail"}
    assert "name 'same' is used twice" in _error(tmp_path, "bronze_events", [spec, spec])
    with pytest.raises(SuiteError, match="gold_customer_360.yaml: suite file is missing"):
        load_suite("gold_customer_360", directory=tmp_path)


def test_tables_without_a_declared_schema_skip_the_column_check_at_load():
    suite = parse_suite({"table": "silver.widgets", "expectations": [
        {"name": "id_present", "kind": "not_null", "column": "widget_id", "severity": "drop"}]},
        "inline", "silver_widgets")
    assert [s.name for s in suite.drop_specs] == ["id_present"]


def test_every_kind_is_documented_for_suite_authors():
    from jobs.quality.kinds import KINDS

    readme = (EXPECTATIONS_DIR / "README.md").read_text(encoding="utf-8")
    assert [k for k in KINDS if f"| `{k}` |" not in readme] == []
