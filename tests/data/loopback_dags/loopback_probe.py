"""Probe DAG for scripts/distributed_run.py: six mapped instances that each sleep three seconds.

It checks the loopback Celery setup on its own, without the governance pipeline. With one task
slot per worker, the broker hands instances to both workers while each is busy sleeping.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["loopback"],
)
def loopback_probe():
    @task
    def list_partitions() -> list[int]:
        """Return the partition numbers to map over."""
        return list(range(6))

    @task
    def sleep_partition(partition: int) -> int:
        """Sleep in place of real work, so that each instance holds its worker slot."""
        import time

        time.sleep(3)
        return partition

    sleep_partition.expand(partition=list_partitions())


loopback_probe()
