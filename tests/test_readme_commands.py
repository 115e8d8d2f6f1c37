"""The README's commands work when pasted as shown, and `make run` links to where it serves."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTICE = ROOT / "fixtures" / "notices" / "weifang-marine-2024.txt"


def test_make_run_links_to_the_host_it_serves():
    dry_run = subprocess.run(
        ["make", "-n", "run", "HOST=127.0.0.1:8101"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    serving = [
        line for line in dry_run.splitlines() if "runserver" in line or "run_due_jobs" in line
    ]
    assert serving
    for line in serving:
        assert "SITE_URL=http://127.0.0.1:8101" in line, line


def test_the_import_command_runs_as_pasted(tmp_path):
    readme = (ROOT / "README.md").read_text()
    [command] = [
        line.strip()
        for line in readme.splitlines()
        if "import_notice" in line and "--dry-run" in line and line.startswith("    ")
    ]
    command = command.replace("path/to/notice.txt", str(NOTICE))
    command = command.replace(".venv/bin/python", sys.executable)
    # A fresh shell: none of the suite's settings, its files in a folder of its own.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEBUG", "SECRET_KEY", "DATABASE_URL", "CONSULT_"))
    }
    env["CONSULT_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    assert parsed["issuer"] and parsed["clauses"]
