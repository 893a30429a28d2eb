"""In-process CPU per request: the WSGI app called directly, no server, no network.

Far less noisy than wrk on a shared machine, so the place to see what a change to the hot path
is worth. Fills a small database as `make bench` does (no history), routes log records through
the production formatter as gunicorn.conf.py does (to /dev/null), and prints the CPU of one
request per case: the bare Flask no-op, the app's no-op, session-status, current-session, the
profile list of 200, and session-status answered 304.

    .venv/bin/python bench/cpu.py                  # the table
    .venv/bin/python bench/cpu.py session-status   # and a cProfile of that case
"""

import cProfile
import logging
import os
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

from run import BARE, BASELINE, bench_app, cpu_per_request, fill

from app.machinery.logs import JsonFormatter


def production_logging() -> None:
    """What gunicorn.conf.py's logconfig_dict sets up, written to /dev/null."""
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 (lives as the process)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main(profiled: str | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="pos-cpu-"))
    try:
        app = bench_app(work / "cpu.sqlite3")
        ids = fill(app)
        production_logging()
        found = cpu_per_request(app, ids)
        bare, baseline = found[BARE], found[BASELINE]
        for name, us in found.items():
            print(f"{name:24} {us:7.0f} us  {us - bare:+6.0f} us vs bare  {bare / us:4.0%} of bare")
        print(f"{'app no-op vs bare':24} {baseline - bare:+7.0f} us")
        if profiled:
            profiler = cProfile.Profile()
            cpu_per_request(app, ids, rounds=3, only=profiled, profiler=profiler)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
