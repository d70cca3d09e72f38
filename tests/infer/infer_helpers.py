"""Helpers of the inference tests: free ports and the real `lmforge` command started as a server (also used
by tests/vllm, as `infer.infer_helpers`)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

MAX_NEW_TOKENS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Poll `url` until it answers 200; fail with the command's output if it exits or times out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the command exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"{url} did not come up in {timeout}s:\n{log.read_text()}")


def start_lmforge(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **env}
    with log.open("w") as out:  # a file, not a pipe: a full pipe would block the server
        return subprocess.Popen([sys.executable, "-m", "lmforge.cli", *args], env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def api_server(args: list[str], log: Path, env: dict[str, str] | None = None,
               timeout: float = 180) -> Iterator[SimpleNamespace]:
    """`lmforge api ARGS` on 127.0.0.1 and a free port (env adds API_KEY, API_MODEL_NAME, ...), up and healthy;
    yields its base URL, its /v1 URL and its log file, and stops it afterwards."""
    port = free_port()
    proc = start_lmforge(["api", *args], {"API_HOST": "127.0.0.1", "API_PORT": str(port), **(env or {})}, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", proc, log, timeout=timeout)
        yield SimpleNamespace(base=base, url=f"{base}/v1", log=log)
    finally:
        stop(proc)


def healthy(server: SimpleNamespace) -> bool:
    with urllib.request.urlopen(f"{server.base}/health", timeout=10) as r:
        return r.status == 200 and json.loads(r.read()) == {"status": "ok"}
