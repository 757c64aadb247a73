"""Mesh analysis in a child process, within a time and a memory limit.

A huge or hostile file must not stall the worker or exhaust the machine, and a crash in the
parsers or numpy must not take the worker down. So the worker calls `run_analysis`, which
starts `python -m printdesk.files.analysis_child` and:

1. limits its address space (RLIMIT_AS, the memory limit) and its CPU time (RLIMIT_CPU, a
   backstop should the parent itself die), with `resource.prlimit` right after it starts;
   the child waits for its job on stdin, so nothing runs unlimited, and no code runs between
   fork and exec (`preexec_fn` is unsafe in a process with threads);
2. sends the job (JSON) and waits at most the time limit, counted from the start, then kills
   it and reaps it (no zombie);
3. reads the one JSON line the child prints, and the preview, thumbnail and viewer mesh it
   wrote into a temporary directory of the parent's, and turns every ending into an `Outcome`.

The child reads the file with `mesh.analyse`, draws the preview (`preview.render_png`) and the
thumbnail, encodes the 3D view's mesh (`viewer_mesh.encode`) when the file is within the
viewer's cap, writes them, and prints {"report": ...} or {"reason": ...}. For a larger file
the worker asks a second child for the mesh alone afterwards (`run_viewer_mesh`).

This module must not import Django: the child imports it and should start fast.
"""

import json
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the child imports numpy only once its limits are set
    from printdesk.files.mesh import Analysed, Report

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHILD_MODULE = "printdesk.files.analysis_child"
PREVIEW_NAME, THUMBNAIL_NAME = "preview.png", "thumbnail.png"
VIEWER_MESH_NAME = "viewer-mesh.bin"
# The triangles the viewer's child reads at most (an even subsample beyond, before simplifying).
VIEWER_READ_MAX = 8_000_000
EXIT_OUT_OF_MEMORY = 3  # the child's exit status when it ran out of memory
STDERR_TAIL_CHARS = 4000
CRASHED = "The analysis program crashed on this file."

# The child's CPU priority below the worker's (and the web's): 0-19, higher yields more.
NICENESS = 10


@dataclass
class Outcome:
    report: "Report | None"  # None when failed
    reason: str  # why it failed, in plain words for people ("" when done)
    preview_png: bytes | None
    thumb_png: bytes | None
    viewer_mesh: bytes | None = None  # viewer_mesh.encode's bytes, for the pages' 3D view

    @property
    def done(self) -> bool:
        return self.report is not None


def run_analysis(
    path: str,
    ext: str,
    *,
    time_limit_s: float,
    memory_limit_mb: int,
    stream_over_bytes: int,
    max_3mf_unpacked_bytes: int,
    stopping: Callable[[], bool] = lambda: False,
) -> Outcome | None:
    """Analyse the file at `path` in a child process. Never raises for a bad file, a timeout, a
    blown memory limit or a crash: each is a failed Outcome with its reason. (Only a child
    that cannot be started at all, say the machine cannot fork, raises OSError.)

    `stopping` is asked twice a second: once it says yes (the worker got SIGTERM), the child
    is killed and None returned, so a stop never waits for a slow file; the caller hands the
    file back to be analysed again."""
    limits = _Limits(time_s=time_limit_s, memory_mb=memory_limit_mb)
    job = {
        "path": os.path.abspath(path),
        "ext": ext,
        "stream_over_bytes": stream_over_bytes,
        "max_3mf_unpacked_bytes": max_3mf_unpacked_bytes,
    }
    with _child_folder() as out_dir:
        try:
            returncode, stdout, stderr = _run_child(job, out_dir, limits, stopping)
        except _Stopped:
            return None
        if returncode is None:
            return _failed(limits.too_slow)
        return _outcome(returncode, stdout, stderr, out_dir, limits)


def run_viewer_mesh(
    path: str,
    ext: str,
    *,
    time_limit_s: float,
    memory_limit_mb: int,
    max_3mf_unpacked_bytes: int,
    stopping: Callable[[], bool] = lambda: False,
) -> bytes | None:
    """The 3D view's mesh of a file over viewer_mesh.MAX_TRIANGLES, made in a child process
    under the same limits (simplifying it takes as long as the analysis itself, so
    run_analysis leaves it out and the worker asks for it once the analysis is recorded).
    None if the child could not make it (logged) or `stopping` said yes."""
    limits = _Limits(time_s=time_limit_s, memory_mb=memory_limit_mb)
    job = {
        "mode": "viewer",
        "path": os.path.abspath(path),
        "ext": ext,
        "max_3mf_unpacked_bytes": max_3mf_unpacked_bytes,
    }
    with _child_folder() as out_dir:
        try:
            returncode, stdout, stderr = _run_child(job, out_dir, limits, stopping)
        except _Stopped:
            return None
        result = _result(stdout) if returncode == 0 else None
        if result is None or "viewer" not in result:
            log.warning(
                "3D view of %s not made (exit status %s): %s",
                path,
                returncode,
                (result or {}).get("reason") or _tail(stderr),
            )
            return None
        return (out_dir / VIEWER_MESH_NAME).read_bytes()


@contextmanager
def _child_folder() -> Iterator[Path]:
    """A new temporary folder for one child: its working directory, its TMPDIR and where it
    writes what it made (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="printdesk-analysis-") as folder:
        yield Path(folder)


@dataclass(frozen=True)
class _Limits:
    time_s: float
    memory_mb: int

    @property
    def too_slow(self) -> str:
        return f"Analysis took longer than the {self.time_s:g}-second limit."

    @property
    def too_big(self) -> str:
        return f"Analysis needed more memory than the {self.memory_mb} MB limit."


def _failed(reason: str) -> Outcome:
    return Outcome(report=None, reason=reason, preview_png=None, thumb_png=None)


# --- the parent -------------------------------------------------------------------------------


class _Stopped(Exception):
    """The worker is stopping: the child was killed before it finished."""


def _run_child(
    job: dict[str, Any], out_dir: Path, limits: _Limits, stopping: Callable[[], bool]
) -> tuple[int | None, bytes, bytes]:
    """Run the child on `job` in `out_dir`: its exit status (None when it ran out of time),
    stdout, stderr. Raises _Stopped if `stopping()` said yes first."""
    job = {**job, "out_dir": str(out_dir)}
    deadline = time.monotonic() + limits.time_s
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        [sys.executable, "-m", CHILD_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=out_dir,
        env=_child_env(out_dir),
    )
    try:
        _limit(process.pid, limits)
        stdin: bytes | None = json.dumps(job).encode()
        while True:
            left = deadline - time.monotonic()
            try:
                # communicate() may be called again after a timeout; the job goes in once.
                stdout, stderr = process.communicate(stdin, timeout=max(0.0, min(left, 0.5)))
                break
            except subprocess.TimeoutExpired:
                stdin = None
                if left <= 0.5:
                    raise
                if stopping():
                    raise _Stopped from None
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()  # reaps it
        return None, b"", b""
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process.returncode, stdout, stderr


def _child_env(out_dir: Path) -> dict[str, str]:
    """Only what the child needs: the project on its path, one thread for the numeric
    libraries (the limits are per process, and the worker shares the machine), and its
    temporary files in the directory removed after it."""
    return {
        "PATH": os.defpath,
        "PYTHONPATH": str(PROJECT_ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(out_dir),
    }


def _limit(pid: int, limits: _Limits) -> None:
    memory = limits.memory_mb * 1024 * 1024
    cpu = math.ceil(limits.time_s) + 1  # SIGXCPU, then SIGKILL a second later
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))
        resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
    except ProcessLookupError:
        pass  # it died on start-up: its exit status says how


def _outcome(
    returncode: int, stdout: bytes, stderr: bytes, out_dir: Path, limits: _Limits
) -> Outcome:
    if returncode == EXIT_OUT_OF_MEMORY:
        return _failed(limits.too_big)
    if returncode == -signal.SIGXCPU:
        return _failed(limits.too_slow)
    if returncode < 0:
        # The kernel's out-of-memory killer, or a library that aborts when it cannot allocate.
        log.warning(
            "Analysis child killed by %s; stderr: %s",
            signal.Signals(-returncode).name,
            _tail(stderr),
        )
        return _failed(limits.too_big)
    result = _result(stdout) if returncode == 0 else None
    if result is None:
        log.error("Analysis child crashed (exit status %s); stderr: %s", returncode, _tail(stderr))
        return _failed(CRASHED)
    if "reason" in result:
        return _failed(str(result["reason"]))
    from printdesk.files.mesh import Report

    try:
        return Outcome(
            report=Report.from_json(result["report"]),
            reason="",
            preview_png=(out_dir / PREVIEW_NAME).read_bytes(),
            thumb_png=(out_dir / THUMBNAIL_NAME).read_bytes(),
            viewer_mesh=_optional(out_dir / VIEWER_MESH_NAME),
        )
    except (OSError, LookupError, TypeError, ValueError):
        log.exception("Analysis child's result not understood (keys: %s)", sorted(result))
        return _failed(CRASHED)


def _optional(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _result(stdout: bytes) -> dict[str, Any] | None:
    lines = stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    if isinstance(result, dict) and {"report", "reason", "viewer"} & set(result):
        return result
    return None


def _tail(stderr: bytes) -> str:
    return stderr[-STDERR_TAIL_CHARS:].decode("utf-8", "replace")


# --- the child --------------------------------------------------------------------------------


def main() -> int:
    """Read the job on stdin, analyse, print the result; exit 3 when out of memory."""
    # Background work: on a machine that also serves pages, the web processes go first.
    os.nice(NICENESS)
    job = json.loads(sys.stdin.buffer.read())
    try:
        result = _viewer(job) if job.get("mode") == "viewer" else _analyse(job)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    except ImportError as error:
        # Under a tight address-space limit the numeric libraries cannot even be mapped.
        if "failed to map segment" in str(error):
            return EXIT_OUT_OF_MEMORY
        raise
    print(json.dumps(result), flush=True)
    return 0


def _analyse(job: dict[str, Any]) -> dict[str, Any]:
    from printdesk.files import mesh, preview, viewer_mesh

    try:
        analysed = mesh.analyse(
            job["path"],
            job["ext"],
            stream_over_bytes=job["stream_over_bytes"],
            max_3mf_unpacked_bytes=job["max_3mf_unpacked_bytes"],
        )
    except mesh.MeshError as error:
        return {"reason": str(error)}
    png = preview.render_png(analysed.preview, closed=one_closed_surface(analysed))
    out_dir = Path(job["out_dir"])
    (out_dir / PREVIEW_NAME).write_bytes(png)
    (out_dir / THUMBNAIL_NAME).write_bytes(preview.thumbnail_png(png))
    if len(analysed.preview) <= viewer_mesh.MAX_TRIANGLES:  # larger: run_viewer_mesh, later
        (out_dir / VIEWER_MESH_NAME).write_bytes(viewer_mesh.encode(analysed.preview))
    return {"report": analysed.report.to_json()}


def _viewer(job: dict[str, Any]) -> dict[str, Any]:
    """run_viewer_mesh's child: every triangle, read the cheap way (the streamed mode measures
    nothing it does not need), simplified to the viewer's cap."""
    from printdesk.files import mesh, viewer_mesh

    try:
        every = mesh.analyse(
            job["path"],
            job["ext"],
            stream_over_bytes=0,
            max_3mf_unpacked_bytes=job["max_3mf_unpacked_bytes"],
            preview_max_triangles=VIEWER_READ_MAX,
        )
    except mesh.MeshError as error:
        return {"reason": str(error)}
    (Path(job["out_dir"]) / VIEWER_MESH_NAME).write_bytes(viewer_mesh.encode(every.preview))
    return {"viewer": True}


def one_closed_surface(analysed: "Analysed") -> bool:
    """Whether the preview's triangles are one watertight body, all of it, wound consistently:
    the renderer may then skip the faces turned away from the viewer."""
    report = analysed.report
    return (
        report.watertight is True
        and report.winding_consistent is True
        and report.body_count == 1
        and len(analysed.preview) == report.triangles  # all of them, not a subsample
    )


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown, about 60 ms with numpy and scipy loaded: the result is
    # out, and the process holds nothing that needs closing.
    os._exit(status)
