"""The public consultation page and the API's consultation at 0 and at 1,000,000 comments.

    .venv/bin/python bench/pages.py                  # 0, then 1,000,000 comments
    .venv/bin/python bench/pages.py --large 100000   # a quicker look

Production settings (DEBUG off, PostgreSQL, CACHE_URL on a Redis of its own) under gunicorn,
two instances side by side on loopback:

- "copy": the defaults, anonymous pages kept for PUBLIC_PAGES_MAX_AGE seconds;
- "render": PUBLIC_PAGES_MAX_AGE=0, so every request renders the page (what a page costs).

At each size, for each page: the median of sequential requests (one keep-alive connection)
on "render" — the page's own time, which must not grow with the comments — and wrk at 32
connections on both. After seeding, the page's time at 1,000,000 comments is compared with
the same page of a twin consultation (the same notice, no comments) in alternating blocks of
requests: the VM's speed drifts by tens of percent between measurements minutes apart, and
this ratio is the verdict's (the time before seeding is printed beside it; that the pages
never query the comments table is asserted by the suite, tests/comments/test_tallies.py).
Seeds with COPY (bench/admin_queue.py's seed) and then recounts the tallies, as a migration
would. wrk's own CPU is printed, to show it is not the bottleneck.
Writes var/bench/pages.json. BENCH_PAGES_DATABASE_URL (default database consult_bench_pages).
"""

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.admin_queue import seed  # noqa: E402
from bench.common import ensure_database, production_setup, results_report, wrk  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/consult_bench_pages"
WORKERS = 2


def gunicorn(port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"), "consult.wsgi",
            "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip


def sequential_ms(port: int, path: str, runs: int = 60) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for n in range(runs + 5):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        if n >= 5:  # the first few warm the workers
            times.append(time.perf_counter() - started)
    connection.close()
    return round(statistics.median(times) * 1000, 2)


def interleaved_ms(port: int, paths: tuple[str, str], blocks: int = 8, runs: int = 20):
    """Medians of sequential requests to two pages taken in alternating blocks: the pair
    measured at the same moments."""
    times = {path: [] for path in paths}
    for block in range(blocks):
        for path in paths if block % 2 == 0 else reversed(paths):
            times[path].append(sequential_ms(port, path, runs=runs))
    return [round(statistics.median(times[path]), 2) for path in paths]


def measure(ports, paths, args) -> dict:
    figures = {}
    for name, path in paths.items():
        figures[name] = {
            "render_sequential_median_ms": sequential_ms(ports["render"], path),
            "rounds": [
                {
                    mode: wrk(
                        f"http://127.0.0.1:{port}{path}",
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                    for mode, port in ports.items()
                }
                for _ in range(args.rounds)
            ],
        }
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    database = os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_DATABASE)
    ensure_database(database, fresh=True)
    production_setup(database, workers=WORKERS)
    from django.core.management import call_command

    from consult.comments.directory import directory_of
    from consult.comments.tallies import tallies_rebuild
    from consult.consultations.models import Clause
    from consult.testing.services import RedisServer, free_port, port_open, wait_for
    from consult.testing.weifang import load_weifang

    call_command("collectstatic", interactive=False, verbosity=0)
    consultation = load_weifang(slug="weifang-pages-bench")
    twin = load_weifang(slug="weifang-pages-bench-empty")
    items = Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
    routes = directory_of(consultation).routes
    routes_by_clause = {clause.pk: routes[clause.pk] for clause in items.distinct()}
    paths = {
        "consultation_page": f"/consultations/{consultation.slug}/",
        "api_detail": f"/api/consultations/{consultation.slug}/",
    }
    results = {
        "machine": os.uname().nodename,
        "cpus": os.cpu_count(),
        "gunicorn_workers": WORKERS,
        "connections": args.connections,
    }
    with tempfile.TemporaryDirectory() as scratch, RedisServer(Path(scratch) / "redis") as redis:
        ports = {"copy": free_port(), "render": free_port()}
        servers = [
            gunicorn(ports["copy"], {**os.environ, "CACHE_URL": redis.url}),
            gunicorn(
                ports["render"],
                {**os.environ, "CACHE_URL": redis.url, "PUBLIC_PAGES_MAX_AGE": "0"},
            ),
        ]
        try:
            for port in ports.values():
                wait_for(lambda port=port: port_open(port), timeout=30, message="gunicorn")
            results["at_0"] = measure(ports, paths, args)
            started = time.perf_counter()
            seed(consultation, 0, args.large, routes_by_clause, random.Random(5))
            tallies_rebuild([consultation.pk])
            results["seed_seconds"] = round(time.perf_counter() - started, 1)
            results[f"at_{args.large}"] = measure(ports, paths, args)
            for name, path in paths.items():
                twin_path = path.replace(consultation.slug, twin.slug)
                at_0, at_large = interleaved_ms(ports["render"], (twin_path, path))
                results[f"at_{args.large}"][name]["interleaved_with_twin_at_0_ms"] = {
                    "at_0": at_0,
                    f"at_{args.large}": at_large,
                }
        finally:
            for server in servers:
                server.terminate()
                server.wait(30)

    small, large = results["at_0"], results[f"at_{args.large}"]
    verdict = {}
    for name in paths:
        interleaved = large[name]["interleaved_with_twin_at_0_ms"]
        ratio = interleaved[f"at_{args.large}"] / interleaved["at_0"]
        before_seeding = (
            large[name]["render_sequential_median_ms"] / small[name]["render_sequential_median_ms"]
        )
        slowest_copy = min(r["copy"]["requests_per_second"] for r in large[name]["rounds"])
        verdict[name] = {
            "time_at_large_over_time_at_0": round(ratio, 2),
            "time_at_large_over_time_before_seeding": round(before_seeding, 2),
            "target_time_ratio_at_most": 1.2,
            "requests_per_second_at_large_slowest_round": slowest_copy,
            "target_requests_per_second_at_least": 300,
            "holds": ratio <= 1.2 and slowest_copy >= 300,
        }
    results["verdict"] = verdict
    results_report("pages", results)


if __name__ == "__main__":
    main()
