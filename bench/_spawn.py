"""Runs the bench's subprocesses from a small process, so their peak RSS is their own.

Linux carries a process's RSS high-water mark across exec (exec_mmap records the old mm's
hiwater in signal->maxrss), so a child forked or vforked by bench/pipeline.py, whose emulator
holds every world in memory, reports at least the bench's own RSS as its ru_maxrss: a child of
a 500 MiB parent that runs `python -c pass` reports 513 MiB. This process stays small; the
children it starts report what they used.

Protocol: one JSON request a line on stdin ({"cmd", "env", "cwd", "timeout"}), one JSON answer
a line on stdout ({"returncode", "wall", "rss", "cpu", "started", "out", "err", "timed_out"}).
Only the standard library; started by pipeline.run_process, ended when stdin closes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time


def run(request: dict) -> dict:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.time()
        clock = time.perf_counter()
        proc = subprocess.Popen(request["cmd"], stdout=out, stderr=err, env=request["env"], cwd=request["cwd"],
                                text=True, start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        killer = threading.Timer(request["timeout"], kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - clock
        out.seek(0)
        err.seek(0)
        return {"returncode": os.waitstatus_to_exitcode(status), "wall": wall, "rss": usage.ru_maxrss * 1024,
                "cpu": usage.ru_utime + usage.ru_stime, "started": started, "out": out.read(), "err": err.read(),
                "timed_out": timed_out.is_set()}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
