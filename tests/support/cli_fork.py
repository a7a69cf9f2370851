"""Run `python -m interfaces.cli ARGS` as a process without paying for its imports each time.

A helper process imports the CLI's modules once (no threads, no connections) and forks a child per
command. The child gets the command's environment, /dev/null for stdin, files for stdout and stderr,
and runs the `interfaces.cli` module as `__main__`, as `python -m` does; its exit (sys.exit, an
uncaught exception, the interpreter's shutdown and atexit handlers) is a normal interpreter exit.
So each command is still its own process with its own environment, output and exit status; only
the second or so of importing is shared. `run_cli` answers like `subprocess.run(..., text=True)`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
# What `interfaces.cli` imports at the top and what its commands import when they run.
PRELOAD = (
    "interfaces.cli",
    "interfaces.bootstrap",
    "infrastructure.projection_state",
    "application.projection_skips",
)


def _serve() -> None:
    """The helper process: one JSON request per line on stdin, `{"pid"}` then `{"returncode"}` back."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    assert threading.active_count() == 1, "the fork helper must not run threads"
    requests, answers = sys.stdin.buffer, os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print goes to stderr, not into the answers
    for line in requests:
        request = orjson.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)  # never returns
        answers.write(orjson.dumps({"pid": pid}) + b"\n")
        _, status = os.waitpid(pid, 0)
        answers.write(orjson.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + b"\n")


def _child(request: dict[str, Any]) -> None:
    import runpy
    import warnings

    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_TRUNC),
    ):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["agentrun", *request["argv"]]
    # The module was imported ahead (that is the point); runpy's warning about it is not the CLI's.
    warnings.filterwarnings("ignore", "'interfaces.cli' found in sys.modules", RuntimeWarning)
    # As `python -m interfaces.cli`: it ends in `sys.exit(main())`, which leaves the interpreter here.
    runpy.run_module("interfaces.cli", run_name="__main__", alter_sys=True)
    sys.exit(0)


class CliForker:
    """The helper process, started on first use, stopped when its stdin closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-c", "from tests.support.cli_fork import _serve; _serve()"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,  # unbuffered: `select` sees every answer not yet read
            )
        return self._process

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="agentrun-cli-") as directory:
            out, err = Path(directory) / "stdout", Path(directory) / "stderr"
            out.touch()
            err.touch()
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            request = {"argv": argv, "env": env, "stdout": str(out), "stderr": str(err)}
            process.stdin.write(orjson.dumps(request) + b"\n")
            process.stdin.flush()
            pid = _answer(process.stdout, 60)["pid"]
            try:
                returncode = _answer(process.stdout, timeout)["returncode"]
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _answer(process.stdout, 10)
                raise subprocess.TimeoutExpired(["agentrun", *argv], timeout) from None
            return subprocess.CompletedProcess(
                ["agentrun", *argv], returncode, out.read_text(), err.read_text()
            )

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def _answer(stream: IO[bytes], timeout: float) -> dict[str, Any]:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError
    line = stream.readline()
    assert line, "the CLI fork helper died"
    return dict(orjson.loads(line))


_forker = CliForker()
atexit.register(_forker.close)


def run_cli(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, "-m", "interfaces.cli", *argv], env=env, text=True, capture_output=True)`."""
    return _forker.run(argv, env, timeout)
