"""What the client scripts in .ci share: pass/fail checks, and a fresh `urbis demo` on a free port
that is started, waited for and stopped around a script's run.

`main(label, prefix, run)` parses `--bin`, starts the demo in a temporary directory, calls
`run(base_url)`, stops the demo (its whole process group), keeps the demo's log when a check
failed, prints "LABEL: N passed, M failed" and returns the exit code.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback
from typing import Callable

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    RESULTS.append((name, bool(ok), detail))
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
    return bool(ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(given: str | None) -> str:
    if given:
        # Popen runs the demo in its own working directory: a relative path must not depend on it.
        return os.path.abspath(given)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(["cargo", "build", "--quiet", "-p", "urbis-cli"], cwd=ROOT, check=True)
    return str(target / "debug" / "urbis")


def start_demo(binary: str, workdir: str, port: int) -> subprocess.Popen:
    log = open(os.path.join(workdir, "demo.log"), "w", encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "demo", "--db", os.path.join(workdir, "demo.sqlite"), "--listen", f"127.0.0.1:{port}",
         "--public-url", base],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"urbis demo exited with {proc.returncode}; see {log.name}")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("urbis demo did not come up within 600 s")


def main(label: str, description: str, prefix: str, run: Callable[[str], None]) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bin", help="the urbis binary (default: build target/debug/urbis)")
    args = parser.parse_args()
    binary = find_binary(args.bin)
    workdir = tempfile.mkdtemp(prefix=prefix)
    port = free_port()
    proc = None
    try:
        proc = start_demo(binary, workdir, port)
        run(f"http://127.0.0.1:{port}")
    except Exception:  # a crash of the script is a failure too
        check("the run completed", False, traceback.format_exc())
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    failed = [r for r in RESULTS if not r[1]]
    if failed:
        print(f"demo log kept in {workdir}/demo.log")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{label}: {len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
