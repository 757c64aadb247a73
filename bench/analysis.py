"""Benchmark: analyse a 1.3-million-triangle binary STL as the worker does, against a raw numpy
read of the same file.

    .venv/bin/python bench/analysis.py      # about 10 seconds
    make bench-analysis                     # the same

1. An icosphere subdivided 8 times (20 * 4^8 = 1,310,720 triangles, radius 50 mm) is written
   as a binary STL (65.5 MB) to a new temporary directory, removed afterwards.
2. analysis: `run_analysis` exactly as the worker calls it, with the default settings (60 s,
   1536 MB, streaming over 200 MB): from starting the child process to holding the Outcome,
   its report, preview and thumbnail. The child starts cold (Python, numpy, scipy, Pillow and
   printdesk.files imported); the calling process has its modules loaded, as a worker has.
3. raw: a child process reads the same file with numpy (`np.fromfile` of the 50-byte records)
   and computes volume (signed tetrahedra), area and bounds in float64, coordinate by
   coordinate (np.cross on rows takes three times as long, and would flatter the ratio). It
   is timed the same way, from starting the process to its exit, start-up (Python, numpy)
   included, in the same environment (one thread for the numeric libraries).
4. Each runs 3 times, alternating; the times are the best of 3, the peak memory the highest.
   Each run is made from a fresh measuring process, so its getrusage(RUSAGE_CHILDREN) is the
   peak resident memory and the CPU time of that one child (the CPU time, which a shared
   machine disturbs less, is printed with each run). The analysis must agree with the raw
   pass on volume, area and bounds.
5. Then, once and not counted, the analysis's phases in one process: imports, mesh.analyse,
   render_png, thumbnail_png, each with its time and the peak memory (VmHWM) after it.

Progress goes to stderr. The last line printed is one JSON object:
{"triangles": N, "analysis_s": N, "raw_s": N, "ratio": N, "peak_rss_mb": N}
(peak_rss_mb: the analysis child's peak resident memory; MB here is 2^20 bytes, the unit of
the memory limit.)
"""

import stdlib_first  # noqa: F401  (first: bench/email.py must not shadow the stdlib)

# isort: split
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBDIVISIONS = 8
RADIUS_MM = 50.0
RUNS = 3
SETTINGS = {  # the worker's defaults (PRINTDESK_ANALYSIS_*)
    "time_limit_s": 60,
    "memory_limit_mb": 1536,
    "stream_over_bytes": 200 * 1024**2,
    "max_3mf_unpacked_bytes": 4 * 1024**3,
}
# The raw pass runs in the same environment as the analysis child.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- the file --------------------------------------------------------------------------------


def write_icosphere(path: Path) -> int:
    """A watertight sphere of SUBDIVISIONS (tests/files/makers.py), as a binary STL."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.files.makers import icosphere

    tri = icosphere(SUBDIVISIONS, RADIUS_MM)
    records = np.zeros(
        len(tri), dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]
    )
    records["corners"] = tri
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    records["normal"] = normal / np.linalg.norm(normal, axis=1)[:, None]
    with path.open("wb") as out:
        out.write(b"printdesk bench: icosphere".ljust(80) + np.uint32(len(tri)).tobytes())
        records.tofile(out)
    return len(tri)


# --- the children ----------------------------------------------------------------------------


def raw_pass(path: str) -> None:
    """What a script would do with numpy alone: read, then volume, area and bounds."""
    import numpy as np

    started = time.perf_counter()
    with open(path, "rb") as source:
        source.seek(80)
        count = int(np.frombuffer(source.read(4), "<u4")[0])
        records = np.fromfile(
            source,
            dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")],
            count=count,
        )
    corners = records["corners"]
    # Coordinate by coordinate in float64: a third of the time np.cross takes on (n, 3) rows.
    x, y, z = (corners[:, :, axis].astype(np.float64) for axis in range(3))
    ux, uy, uz = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0], z[:, 1] - z[:, 0]
    vx, vy, vz = x[:, 2] - x[:, 0], y[:, 2] - y[:, 0], z[:, 2] - z[:, 0]
    nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
    area = np.sqrt(nx * nx + ny * ny + nz * nz).sum() / 2
    volume = abs((x[:, 0] * nx + y[:, 0] * ny + z[:, 0] * nz).sum()) / 6
    low = [float(axis.min()) for axis in (x, y, z)]
    high = [float(axis.max()) for axis in (x, y, z)]
    print(
        json.dumps(
            {
                "triangles": count,
                "volume_mm3": float(volume),
                "area_mm2": float(area),
                "bbox_min": low,
                "bbox_max": high,
                "in_process_s": time.perf_counter() - started,
            }
        )
    )


def measure(kind: str, path: str) -> None:
    """One timed run in this fresh process: its only child is the one measured."""
    if kind == "analysis":
        sys.path.insert(0, str(ROOT))
        # A worker has its modules loaded before its first file: only the child starts cold.
        import printdesk.files.mesh  # noqa: F401
        from printdesk.files.analysis_child import run_analysis

        started = time.perf_counter()
        outcome = run_analysis(path, "stl", **SETTINGS)
        seconds = time.perf_counter() - started
        if outcome.report is None or not outcome.preview_png or not outcome.thumb_png:
            raise SystemExit(f"bench: the analysis failed: {outcome.reason}")
        figures = outcome.report.to_json()
    else:
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, __file__, "--raw", path],
            capture_output=True,
            check=True,
            env=os.environ | ONE_THREAD,
        )
        seconds = time.perf_counter() - started
        figures = json.loads(run.stdout)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": child.ru_utime + child.ru_stime,
                "peak_rss_mb": child.ru_maxrss / 1024,
                "figures": figures,
            }
        )
    )


def phases(path: str) -> None:
    """The analysis's steps in one process, each with its time and the peak memory after it."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from printdesk.files import mesh, preview
    from printdesk.files.analysis_child import one_closed_surface

    steps = [("imports (numpy, scipy, Pillow, printdesk.files)", time.perf_counter() - started)]
    peaks = [_peak_mb()]
    started = time.perf_counter()
    analysed = mesh.analyse(path, "stl", stream_over_bytes=SETTINGS["stream_over_bytes"])
    steps.append(("mesh.analyse", time.perf_counter() - started))
    peaks.append(_peak_mb())
    started = time.perf_counter()
    png = preview.render_png(analysed.preview, closed=one_closed_surface(analysed))
    steps.append(("preview.render_png", time.perf_counter() - started))
    peaks.append(_peak_mb())
    started = time.perf_counter()
    preview.thumbnail_png(png)
    steps.append(("preview.thumbnail_png", time.perf_counter() - started))
    peaks.append(_peak_mb())
    for (name, seconds), peak in zip(steps, peaks, strict=True):
        say(f"  {name}: {seconds:.3f} s, peak so far {peak:.0f} MB")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the parent ------------------------------------------------------------------------------


def run_measure(kind: str, path: Path) -> dict:
    run = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | ONE_THREAD,
    )
    if run.returncode:
        raise SystemExit(f"bench: the {kind} run failed\n{run.stdout}\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def check_agreement(analysis: dict, raw: dict) -> None:
    """The analysis measured what the raw pass measured (float64 sums: to a part in 10^6)."""
    for name in ("volume_mm3", "area_mm2"):
        if abs(analysis[name] - raw[name]) > 1e-6 * abs(raw[name]):
            raise SystemExit(f"bench: {name} {analysis[name]} against the raw {raw[name]}")
    for name in ("bbox_min", "bbox_max"):
        if max(abs(a - r) for a, r in zip(analysis[name], raw[name], strict=True)) > 1e-4:
            raise SystemExit(f"bench: {name} {analysis[name]} against the raw {raw[name]}")


def main() -> None:
    load = os.getloadavg()
    say(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="printdesk-bench-analysis-") as folder:
        path = Path(folder) / "icosphere.stl"
        triangles = write_icosphere(path)
        say(f"{path.name}: {triangles:,} triangles, {path.stat().st_size / 1e6:.1f} MB")
        analyses, raws = [], []
        for run in range(1, RUNS + 1):
            analyses.append(run_measure("analysis", path))
            raws.append(run_measure("raw", path))
            analysis, raw = analyses[-1], raws[-1]
            say(
                f"run {run}: analysis {analysis['seconds']:.3f} s (CPU {analysis['cpu_s']:.3f} s, "
                f"peak {analysis['peak_rss_mb']:.0f} MB); raw {raw['seconds']:.3f} s "
                f"(CPU {raw['cpu_s']:.3f} s, peak {raw['peak_rss_mb']:.0f} MB, "
                f"{raw['figures']['in_process_s']:.3f} s of it after start-up)"
            )
        check_agreement(analyses[0]["figures"], raws[0]["figures"])
        say("the analysis agrees with the raw pass on volume, area and bounds")
        say("phases of the analysis, in one process (not counted):")
        subprocess.run(
            [sys.executable, __file__, "--phases", str(path)],
            check=True,
            env=os.environ | ONE_THREAD,
        )
    analysis_s = min(run["seconds"] for run in analyses)
    raw_s = min(run["seconds"] for run in raws)
    load = os.getloadavg()
    say(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    say(f"times: best of {RUNS} each; raw peak {max(run['peak_rss_mb'] for run in raws):.0f} MB")
    print(
        json.dumps(
            {
                "triangles": triangles,
                "analysis_s": round(analysis_s, 3),
                "raw_s": round(raw_s, 3),
                "ratio": round(analysis_s / raw_s, 2),
                "peak_rss_mb": round(max(run["peak_rss_mb"] for run in analyses)),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", metavar="STL", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "STL"), help=argparse.SUPPRESS)
    parser.add_argument("--phases", metavar="STL", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.raw:
        raw_pass(options.raw)
    elif options.measure:
        measure(*options.measure)
    elif options.phases:
        phases(options.phases)
    else:
        main()
