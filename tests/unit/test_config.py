"""Configuration: one YAML file, environment overrides, validation that names the key."""

import subprocess
import sys

import pytest

from jobs.common.config import PROJECT_ROOT, load_config
from jobs.common.errors import ConfigError


def test_defaults_load_and_resolve_paths_against_the_project_root():
    config = load_config(environ={})
    assert config.env == "dev"
    assert config.paths.landing == PROJECT_ROOT / "data" / "landing"
    assert config.paths.table("bronze.events") == PROJECT_ROOT / "data" / "lake" / "bronze" / "events"
    assert config.spark.conf["spark.ui.enabled"] == "false"
    assert set(config.enabled_sources()) == {"events", "crm", "call_center", "orders", "campaigns", "consents"}


def test_environment_overrides_keep_yaml_types_and_spark_keys():
    config = load_config(environ={
        "C360__PATHS__LAKE": "/mnt/lake",
        "C360__BRONZE__MAX_FILES_PER_BATCH": "50",
        "C360__SPARK__CONF__spark.sql.shuffle.partitions": "64",
        "C360__SOURCES__CRM__ENABLED": "false",
    })
    assert str(config.paths.lake) == "/mnt/lake"
    assert config.bronze.max_files_per_batch == 50
    assert config.spark.conf["spark.sql.shuffle.partitions"] == "64"
    assert "crm" not in config.enabled_sources()


@pytest.mark.parametrize("key, value, message", [
    ("env", "staging", "config key 'env'.*allowed: dev | test | prod"),
    ("spark.delta_jars", "maybe", "config key 'spark.delta_jars'.*allowed: auto | none"),
    ("bronze.max_files_per_batch", 0, "config key 'bronze.max_files_per_batch'.*integer >= 1"),
    ("generator.bad_record_rate", 0.9, r"config key 'generator.bad_record_rate'.*\[0, 0.5\]"),
    ("generator.end_date", "21/11/2026", "config key 'generator.end_date'.*YYYY-MM-DD"),
    ("sources.loyalty", {"enabled": True}, "config key 'sources.loyalty'.*unknown source"),
    ("sources.crm.enabled", "sometimes", "config key 'sources.crm.enabled'.*true | false"),
    ("paths.truth", "data/landing/truth", "config key 'paths.truth'.*must not lie inside paths.landing"),
])
def test_bad_values_name_the_key_and_what_is_allowed(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides={key: value}, environ={})


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_cli_reports_bad_config_without_a_stack_trace():
    proc = subprocess.run([sys.executable, "-m", "jobs", "list"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT),
                                          "C360__SPARK__DELTA_JARS": "maybe"})
    assert proc.returncode == 2
    assert "error: config key 'spark.delta_jars': got 'maybe'; allowed: auto | none" in proc.stderr
    assert "Traceback" not in proc.stderr
