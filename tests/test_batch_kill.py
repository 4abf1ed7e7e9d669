"""``segpress batch`` killed at random moments, and stopped with Ctrl-C, in a subprocess.

After every SIGKILL (of the whole process group, or of the main process only: its workers must then
exit by themselves): no output under a final name is partial, every manifest line that says done
names an output that decodes to the size recorded, no done entry of an earlier run is lost, and a
final run completes the rest and leaves no temporary file. Bounded: five kills, each waiting at most
a minute for progress.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_support import TEMPORARY, decodes, latest_records, photo_tree

from segpress.batch import MANIFEST_NAME

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")

IMAGES = 400  # enough that a quiet machine (20-30 images/s, more where the model protects little) is still busy at the fifth kill
KILLS = 5
COMMAND = [sys.executable, "-c", "from segpress.cli import run; run()", "batch"]


def start(source: Path, destination: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen([*COMMAND, str(source), str(destination), "--workers", "2"],
                                stdout=output, stderr=output, start_new_session=True)


def done_inputs(destination: Path) -> set[str]:
    manifest = destination / MANIFEST_NAME
    if not manifest.exists():
        return set()
    return {name for name, record in latest_records(manifest).items() if record["status"] == "done"}


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def live_members(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies left out: nobody may reap them here)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(entry.name))
    return members


def check_destination(destination: Path, done_before: set[str]) -> set[str]:
    """The invariants after a kill; returns the inputs the manifest shows done."""
    done = done_inputs(destination)
    assert done >= done_before, f"done entries lost: {done_before - done}"
    records = latest_records(destination / MANIFEST_NAME) if done else {}
    for name in done:
        output = Path(records[name]["output"])
        data = output.read_bytes()
        assert len(data) == records[name]["bytes_out"] and decodes(data), name
    for path in destination.rglob("*"):
        if path.is_file() and path.name != MANIFEST_NAME and not TEMPORARY.match(path.name):
            assert decodes(path.read_bytes()), f"partial output {path}"
    return done


def test_kills_at_random_moments_lose_nothing_and_a_rerun_finishes(tmp_path: Path) -> None:
    source, destination, log = tmp_path / "src", tmp_path / "out", tmp_path / "log.txt"
    names = photo_tree(source, [f"{'sub/' if i % 3 else ''}p{i:02d}.png" for i in range(IMAGES)])
    chance = random.Random(20261125)
    done: set[str] = set()
    for kill in range(KILLS):
        process = start(source, destination, log)
        if kill == 0:
            time.sleep(chance.uniform(0.5, 2.0))  # while it starts: imports, listing, workers loading the model
        else:
            before = len(done)
            wait_for(lambda n=before, p=process: len(done_inputs(destination)) > n or p.poll() is not None, 60)
            time.sleep(chance.uniform(0.0, 0.3))
        if process.poll() is not None:
            break  # finished before the kill
        if kill % 2 == 0:
            os.killpg(process.pid, signal.SIGKILL)  # everything at once, workers in the middle of writing
        else:
            process.kill()  # the main process only: its workers must notice and exit
        process.wait(timeout=30)
        assert wait_for(lambda group=process.pid: not live_members(group), 15), "workers outlived their main process"
        done = check_destination(destination, done)
    assert len(done) < IMAGES, "the job finished before the kills: nothing was tested"

    final = subprocess.run([*COMMAND, str(source), str(destination), "--workers", "2"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stderr
    assert done_inputs(destination) == set(names)
    check_destination(destination, done)
    assert not [p for p in destination.rglob("*") if TEMPORARY.match(p.name)], "temporary files left"


def test_ctrl_c_finishes_what_is_in_flight_records_it_and_exits_130(tmp_path: Path) -> None:
    source, destination, log = tmp_path / "src", tmp_path / "out", tmp_path / "log.txt"
    photo_tree(source, [f"p{i:02d}.png" for i in range(IMAGES)])
    process = start(source, destination, log)
    assert wait_for(lambda: bool(done_inputs(destination)) or process.poll() is not None, 60)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    assert process.wait(timeout=60) == 130, log.read_text()
    output = log.read_text()
    assert "interrupted (Ctrl-C): run again to finish" in output and "Traceback" not in output
    done = check_destination(destination, set())
    assert 0 < len(done) < IMAGES
    assert not [p for p in destination.rglob("*") if TEMPORARY.match(p.name)]  # in-flight work was finished

    rerun = subprocess.run([*COMMAND, str(source), str(destination), "--workers", "2", "--json"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f'"skipped": {len(done)}' in rerun.stdout
    assert len(done_inputs(destination)) == IMAGES
