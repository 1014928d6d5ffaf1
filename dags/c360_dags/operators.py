"""The one operator every pipeline task uses: a project job run through spark-submit.

    spark-submit --master <from the Spark connection> --conf ... jobs/submit.py jobs run <job> --date <logical date> --run-id <run id>

is the same code path as `python -m jobs run <job> --date ... --run-id ...` (the Makefile's).
Where the job runs is the Spark connection's business (`local[*]` by default, a cluster master by
editing the connection). What a job needs from Spark (Delta's jars, the project's Spark settings
from config/pipeline.yaml, the project's Python) is worked out when the task runs, not when the
DAG file is parsed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from c360_dags import PROJECT_ROOT

SUBMIT_FILE = PROJECT_ROOT / "jobs" / "submit.py"
# jobs.common.errors.PipelineError.exit_code: a job refused or failed on purpose (bad config,
# unknown job, a quality gate that did not pass). Retrying cannot help, so the task fails at once.
DELIBERATE_EXIT_CODE = 2


def project_python() -> str:
    """The interpreter of the project's .venv when there is one, else the one running Airflow."""
    import sys

    venv = PROJECT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def spark_submit_conf(config, master: str = "local[*]") -> dict[str, str]:
    """Settings that must be on spark-submit's command line: under spark-submit the driver JVM
    starts before our session factory runs, so JVM options and jars set later would not apply."""
    from jobs.common.spark import BASE_CONF, LOCAL_ONLY_CONF, delta_jar_settings

    conf: dict[str, str] = dict(BASE_CONF)
    if master.startswith("local"):
        conf.update(LOCAL_ONLY_CONF)
    conf.update(delta_jar_settings(config.spark.delta_jars))
    conf.update(config.spark.conf)
    python = project_python()
    conf.setdefault("spark.pyspark.python", python)
    conf.setdefault("spark.pyspark.driver.python", python)
    # Python workers unpickle functions of the `jobs` package: they need the project on their path.
    conf.setdefault("spark.executorEnv.PYTHONPATH", str(PROJECT_ROOT))
    conf.setdefault("spark.log.level", "WARN")
    return conf


class JobSubmitOperator(SparkSubmitOperator):
    """Run one module of the project's `jobs` package with spark-submit (see jobs/submit.py).

    `module_args` are what would follow `python -m`: for example
    `["jobs", "run", "ingest_events", "--date", "{{ ds }}", "--run-id", "{{ run_id }}"]`.
    """

    ui_color = "#e8f4fd"

    def __init__(self, *, module_args: list[str], conn_id: str, job_name: str | None = None,
                 **kwargs: Any) -> None:
        self.job_name = job_name or kwargs.get("task_id")
        kwargs.setdefault("name", f"c360_{self.job_name}")
        super().__init__(application=str(SUBMIT_FILE), application_args=list(module_args),
                         conn_id=conn_id, **kwargs)

    def execute(self, context):
        from jobs.common.config import load_config

        master = self._check_connection()
        config = load_config()
        self.conf = {**spark_submit_conf(config, master), **(self.conf or {})}
        self._ensure_spark_submit_on_path()
        try:
            return super().execute(context)
        except Exception as exc:
            if self._exit_code() == DELIBERATE_EXIT_CODE:
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(
                    f"{self.job_name} stopped with exit code {DELIBERATE_EXIT_CODE}: the job reported "
                    f"an error of its own (a failed quality gate, bad configuration or input); "
                    f"not retried. See the job's last log lines above. {exc}") from exc
            raise

    def _check_connection(self) -> str:
        """The connection's master. The provider silently falls back to `yarn` when it is missing."""
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowFailException

        try:
            connection = BaseHook.get_connection(self._conn_id)
        except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and kin
            raise AirflowFailException(
                f"Spark connection '{self._conn_id}' is not defined: create it (make airflow-init "
                f"does, with master local[*]) or set AIRFLOW_CONN_{self._conn_id.upper()}, e.g. "
                f"'{{\"conn_type\": \"spark\", \"host\": \"local[*]\"}}'. ({exc})") from exc
        host = connection.host or "local[*]"
        return f"{host}:{connection.port}" if connection.port else host

    def _exit_code(self) -> int | None:
        process = getattr(self._hook, "_submit_sp", None)
        return None if process is None else process.returncode

    @staticmethod
    def _ensure_spark_submit_on_path() -> None:
        """The provider runs `spark-submit` from PATH; the project's .venv ships one."""
        if shutil.which("spark-submit"):
            return
        venv_bin = Path(project_python()).parent
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
