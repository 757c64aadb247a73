"""Analysis in a child process: real files, real limits, real processes."""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from printdesk.files import analysis_child, mesh
from printdesk.files.analysis_child import Outcome, run_analysis
from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {
    "time_limit_s": 60,
    "memory_limit_mb": 1536,
    "stream_over_bytes": 200 * 1024**2,
    "max_3mf_unpacked_bytes": 4 * 1024**3,
}
BIG_TRIANGLES = 2_500_000  # 125 MB: more than 300 MB of memory to analyse whole


@pytest.fixture(scope="module")
def big_stl(tmp_path_factory) -> Path:
    """A binary STL of 2.5 million random triangles, each corner in a 100 mm box."""
    path = tmp_path_factory.mktemp("big") / "big.stl"
    records = np.zeros(
        BIG_TRIANGLES, dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]
    )
    records["corners"] = np.random.default_rng(7).random((BIG_TRIANGLES, 3, 3), np.float32) * 100
    with path.open("wb") as out:
        out.write(b"random triangles".ljust(80) + np.uint32(BIG_TRIANGLES).tobytes())
        records.tofile(out)
    return path


def analyse(path: Path | str, ext: str, **limits) -> Outcome:
    return run_analysis(str(path), ext, **(LIMITS | limits))


def image_size(png: bytes | None) -> tuple[int, int]:
    assert png is not None
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


def children() -> dict[int, str]:
    """This process's child processes (zombies included) and their states, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == os.getpid():
            found[int(stat.parent.name)] = fields[0]
    return found


def new_children(before: dict[int, str]) -> dict[int, str]:
    """Children that were not there `before`, with their states (other tests' servers, there
    before, may be running or sleeping: their states are no concern here)."""
    return {pid: state for pid, state in children().items() if pid not in before}


def test_a_good_sample_gives_its_report_a_preview_and_a_thumbnail():
    outcome = analyse(SAMPLES / "20mm-xyz-cube.stl", "stl")
    assert outcome.done
    assert outcome.reason == ""
    assert outcome.report is not None
    assert outcome.report.triangles == 260
    assert outcome.report.volume_mm3 == pytest.approx(7938.7, rel=1e-3)
    assert image_size(outcome.preview_png) == (480, 480)
    assert image_size(outcome.thumb_png) == (96, 96)


@pytest.mark.parametrize(("name", "ext"), [("rabbit.obj", "obj"), ("3mf/box.3mf", "3mf")])
def test_other_formats_are_analysed_too(name, ext):
    outcome = analyse(SAMPLES / name, ext)
    assert outcome.report is not None
    assert outcome.report.triangles == mesh.analyse(SAMPLES / name, ext).report.triangles
    assert image_size(outcome.preview_png) == (480, 480)


@pytest.mark.parametrize(
    ("name", "ext"),
    [("empty.stl", "stl"), ("3mf/MUSTFAIL_Chapter3.4a_MoreThanOneModel.3mf", "3mf")],
)
def test_a_broken_file_fails_with_the_reason_the_parser_gives(name, ext):
    with pytest.raises(mesh.MeshError) as raised:
        mesh.analyse(SAMPLES / name, ext)
    outcome = analyse(SAMPLES / name, ext)
    assert not outcome.done
    assert outcome.reason == str(raised.value)
    assert outcome.report is outcome.preview_png is outcome.thumb_png is None


def test_a_file_over_the_time_limit_is_stopped_and_its_process_reaped(big_stl):
    before = children()
    started = time.monotonic()
    outcome = analyse(big_stl, "stl", time_limit_s=0.5, stream_over_bytes=1024**3)
    assert time.monotonic() - started < 2
    assert outcome.reason == "Analysis took longer than the 0.5-second limit."
    assert outcome.report is None
    assert new_children(before) == {}  # neither running nor a zombie


def test_a_stopping_worker_kills_the_child_at_once_and_gets_nothing(big_stl):
    before = children()
    started = time.monotonic()
    outcome = analyse(big_stl, "stl", stream_over_bytes=1024**3, stopping=lambda: True)
    assert outcome is None  # nothing to record: the file goes back to the queue
    assert time.monotonic() - started < 2  # the first check, half a second in
    assert new_children(before) == {}  # neither running nor a zombie


def test_the_child_runs_at_a_lower_cpu_priority_than_the_worker(big_stl):
    seen: list[int] = []
    before = children()  # servers other tests started, for one

    def stopping() -> bool:  # asked while the child runs: look at its priority, then stop it
        for pid in children().keys() - before.keys():
            stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            seen.append(int(stat[16]))  # the nice value (field 19 of stat)
        return True

    assert analyse(big_stl, "stl", stream_over_bytes=1024**3, stopping=stopping) is None
    assert seen == [os.nice(0) + analysis_child.NICENESS]


def test_a_file_over_the_memory_limit_fails_with_the_memory_reason(big_stl):
    # The same limit leaves room for a small part: it is the big file that needs more.
    assert analyse(SAMPLES / "20mm-xyz-cube.stl", "stl", memory_limit_mb=300).done
    outcome = analyse(big_stl, "stl", memory_limit_mb=300, stream_over_bytes=1024**3)
    assert outcome.reason == "Analysis needed more memory than the 300 MB limit."
    assert outcome.report is None


def test_a_child_killed_by_the_system_is_reported_as_out_of_memory(big_stl):
    """What the kernel's out-of-memory killer does: SIGKILL, no word from the child."""
    before = children()
    outcomes: list[Outcome] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(analyse(big_stl, "stl", stream_over_bytes=1024**3))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while not (set(children()) - set(before)) and time.monotonic() < deadline:
        time.sleep(0.01)
    (pid,) = set(children()) - set(before)
    time.sleep(0.3)  # into its work
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=10)
    assert outcomes[0].reason == "Analysis needed more memory than the 1536 MB limit."
    assert children() == before


def test_a_crashed_child_fails_plainly_and_its_error_goes_to_the_log(monkeypatch, caplog):
    monkeypatch.setattr(analysis_child, "CHILD_MODULE", "printdesk.files.no_such_module")
    with caplog.at_level(logging.ERROR, logger="printdesk.files.analysis_child"):
        outcome = analyse(SAMPLES / "20mm-xyz-cube.stl", "stl")
    assert outcome.reason == "The analysis program crashed on this file."
    assert "No module named printdesk.files.no_such_module" in caplog.text
    assert "No module" not in outcome.reason


# The parent's peak is VmHWM: getrusage's would include what this test process held when
# it forked the parent (rusage survives exec).
@pytest.mark.parametrize(
    ("name", "closed"),
    [
        ("20mm-xyz-cube.stl", True),
        ("teapot.stl", False),  # not watertight
        ("two_objects_mixed_case_names.stl", False),  # two bodies
        ("multibody.stl", False),  # inconsistent winding
    ],
)
def test_only_one_whole_closed_body_lets_the_renderer_skip_hidden_faces(name, closed):
    assert analysis_child.one_closed_surface(mesh.analyse(SAMPLES / name, "stl")) is closed


def test_a_subsampled_preview_is_not_a_closed_surface():
    analysed = mesh.analyse(SAMPLES / "20mm-xyz-cube.stl", "stl", preview_max_triangles=100)
    assert analysed.report.watertight
    assert not analysis_child.one_closed_surface(analysed)


PARENT = """
import json, re, resource, sys
from printdesk.files.analysis_child import run_analysis
outcome = run_analysis(sys.argv[1], "stl", time_limit_s=60, memory_limit_mb=1536,
                       stream_over_bytes=50 * 1024**2, max_3mf_unpacked_bytes=1024**3)
status = open("/proc/self/status").read()
print(json.dumps({
    "done": outcome.done,
    "parent_mb": int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024,
    "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def test_the_parent_never_loads_the_mesh(big_stl):
    """The worker's memory stays small: only the child holds the triangles."""
    run = subprocess.run(
        [sys.executable, "-c", PARENT, str(big_stl)],
        capture_output=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    peaks = json.loads(run.stdout)
    assert peaks["done"]
    assert peaks["child_mb"] > 150  # it holds the triangles, some of them twice
    assert peaks["parent_mb"] < 100  # less than the 125 MB file
