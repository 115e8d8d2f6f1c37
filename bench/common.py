"""What the benchmarks share."""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "var" / "bench"


def python_speed() -> float:
    """CPU seconds this machine takes for a fixed pure-Python loop, right now: these VMs are
    shared and their speed varies from hour to hour, so absolute CPU figures are read beside
    it (ratios to a baseline of the same run need no such care)."""
    import time

    started = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number
    return round(time.process_time() - started, 3)


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


def production_setup(database: str, *, workers: int) -> dict:
    """Production settings (DEBUG off) on the benchmark's database for this process and the
    servers it starts; Django set up and migrated. Returns the environment it set."""
    import os

    production = {
        "DJANGO_SETTINGS_MODULE": "consult.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "DATABASE_URL": database,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(workers),
    }
    os.environ.update(production)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return production


def wrk(url: str, *, connections: int, seconds: int, script=None) -> dict:
    """Debian's wrk (2 threads) against `url`: rates, latencies and its own CPU, which shows
    whether the load generator was the bottleneck."""
    import re
    import resource
    import subprocess
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(script)] if script else []
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def latency(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return round(float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)], 2)

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = int(bad.group(1)) if bad else 0
    return {
        "requests": requests,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "answered_2xx_per_second": round((requests - non_2xx) / seconds, 1),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": non_2xx,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "wrk_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
    }
