"""Sources are declared by their files (jobs.common.sources); everything else follows."""

from __future__ import annotations

import pytest

from jobs import registry
from jobs.common.config import load_config
from jobs.common.sources import SOURCE_PATH_ENV, SourceDeclarationError, sources
from jobs.quality.suite import load_suite
from jobs.silver.sources import spec_for


def test_silver_outputs_read_from_each_module_are_its_spec_outputs():
    for name, source in sources().items():
        assert source.silver_outputs == tuple(o.table for o in spec_for(name).outputs), name


def test_registry_and_config_follow_the_declared_sources():
    assert registry.SOURCES == tuple(sources()) == registry.SILVER_SOURCES
    assert set(load_config(environ={}).enabled_sources()) == set(registry.SOURCES)
    for name, source in sources().items():
        assert registry.get_job(f"silver_{name}").outputs[:len(source.silver_outputs)] == source.silver_outputs


def test_a_contract_alone_is_a_bronze_only_source(tmp_path):
    (tmp_path / "loyalty.yaml").write_text("source: loyalty\n")
    found = sources({SOURCE_PATH_ENV: str(tmp_path)})
    assert found["loyalty"].conform is None and found["loyalty"].silver_outputs == ()


def test_a_name_declared_twice_or_a_module_without_outputs_is_refused(tmp_path):
    (tmp_path / "events.yaml").write_text("source: events\n")
    with pytest.raises(SourceDeclarationError, match="declared twice"):
        sources({SOURCE_PATH_ENV: str(tmp_path)})
    other = tmp_path / "other"
    other.mkdir()
    (other / "loyalty.yaml").write_text("source: loyalty\n")
    (other / "loyalty.py").write_text("SPEC = None\n")
    with pytest.raises(SourceDeclarationError, match="loyalty.py: declares no Output"):
        sources({SOURCE_PATH_ENV: str(other)})


def test_a_bronze_table_without_a_suite_file_gets_its_contracts_suite(tmp_path):
    implied = load_suite("bronze_consents", directory=tmp_path)      # no file in tmp_path
    assert implied.table == "bronze.consents"
    assert [s.name for s in implied.specs] == ["columns_as_declared", "lineage_present", "required_fields_present",
                                               "purpose_allowed", "channel_allowed", "status_allowed"]
    assert "implied by the consents contract" in implied.path
