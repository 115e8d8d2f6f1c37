"""What the benchmarks share."""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "var" / "bench"


def results_report(name: str, results: dict) -> None:
    """Print a benchmark's figures and keep them in var/bench/<name>.json."""
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text)


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the benchmark's own PostgreSQL database when missing (or anew, when `fresh`)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if fresh:
            connection.execute(f'drop database if exists "{name}" with (force)')
        elif connection.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            return
        connection.execute(f'create database "{name}"')
