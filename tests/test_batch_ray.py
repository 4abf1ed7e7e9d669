"""``segpress batch --engine ray``: the same job as a Ray Data pipeline, on a local Ray instance.

One Ray instance for the session (2 CPUs, 256 MB object store, no dashboard), bound to loopback and
without token auth (see the module's environment settings below); its files stay in a temporary
folder. A test that connects with ``--ray-address`` starts its own head with ``ray start`` in a new
process group and stops that group. Few tests, each with a handful of small photos: Ray's start-up
dominates their time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_support import (
    centre_mask_png,
    decodes,
    encoded,
    latest_records,
    photo,
    photo_tree,
    s3_filesystem,
    s3_server,
    storage_arguments,
)

# Read by Ray when it is imported: everything on 127.0.0.1, no token file, no usage report.
RAY_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                   "RAY_USAGE_STATS_ENABLED": "0", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
for _name, _value in RAY_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
ray = pytest.importorskip("ray")

from segpress.batch import MANIFEST_NAME  # noqa: E402
from segpress.cli import main  # noqa: E402

__all__ = ["s3_server"]  # a fixture, used by name
# Ray Data's own deprecations, and its note that a test's few inputs cannot keep every actor busy.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The minimum number of concurrent actors:UserWarning")]


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    import ray.data

    folder = tempfile.mkdtemp(prefix="segpress-ray-test-")
    ray.init(num_cpus=2, object_store_memory=256 * 2**20, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False, _temp_dir=folder)
    ray.data.DataContext.get_current().execution_no_progress_timeout_s = 120  # a hang fails instead of waiting 30 min
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


def batch(capsys, *argv: object) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main(["batch", *(str(a) for a in argv), "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_the_ray_pipeline_does_what_the_local_engine_does(local_ray, tmp_path: Path, capsys) -> None:
    source = tmp_path / "src"
    names = photo_tree(source, ["a.png", "b.jpg", "sub/c.png", "sub/d.png", "sub/deeper/e.tif"])
    (source / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n then nothing")

    code, report, err = batch(capsys, source, tmp_path / "ray", "--engine", "ray", "--workers", 2)
    assert code == 1 and (report["engine"], report["done"], report["failed"]) == ("ray", 5, 1), err
    assert "error: sub/broken.png:" in err and "Traceback" not in err
    batch(capsys, source, tmp_path / "local", "--workers", 2)

    by_ray, by_local = latest_records(tmp_path / "ray" / MANIFEST_NAME), latest_records(tmp_path / "local" / MANIFEST_NAME)
    assert set(by_ray) == set(by_local) == {*names, "sub/broken.png"}
    assert by_ray["sub/broken.png"]["error"] == by_local["sub/broken.png"]["error"]
    for name in names:
        ray_record, local_record = by_ray[name], by_local[name]
        output = Path(ray_record["output"])
        assert output.relative_to(tmp_path / "ray") == Path(local_record["output"]).relative_to(tmp_path / "local")
        assert decodes(output.read_bytes()) and output.stat().st_size == ray_record["bytes_out"]
        assert ray_record["fingerprint"] == local_record["fingerprint"]
        # The same model on batches of another size: the same file, up to float rounding in the network.
        assert ray_record["bytes_out"] == pytest.approx(local_record["bytes_out"], rel=0.02)

    code, report, _ = batch(capsys, source, tmp_path / "ray", "--engine", "ray")
    assert (report["skipped"], report["done"], report["failed"]) == (5, 0, 1)


def test_ray_reads_and_writes_a_bucket(local_ray, s3_server, tmp_path: Path, capsys) -> None:
    """Masks instead of the model (no actor stage): the files are exactly what compress writes."""
    fs = s3_filesystem(s3_server)
    fs.mkdir("ray-in")
    fs.mkdir("ray-out")
    for index, name in enumerate(["p0.png", "deep/p1.png", "deep/p2.png"]):
        fs.pipe_file(f"ray-in/photos/{name}", encoded(photo(index), ".png"))
        fs.pipe_file(f"ray-in/masks/{name}", centre_mask_png())
    manifest = tmp_path / "manifest.jsonl"
    code, report, err = batch(capsys, "s3://ray-in/photos", "s3://ray-out/small", "--mask", "s3://ray-in/masks",
                              "--engine", "ray", "--manifest", manifest, *storage_arguments(s3_server))
    assert code == 0 and report["done"] == 3, err
    fs.invalidate_cache()
    (tmp_path / "p1.png").write_bytes(fs.cat_file("ray-in/photos/deep/p1.png"))
    (tmp_path / "m1.png").write_bytes(fs.cat_file("ray-in/masks/deep/p1.png"))
    assert main(["compress", str(tmp_path / "p1.png"), "--mask", str(tmp_path / "m1.png"), "-o",
                 str(tmp_path / "p1.jpg"), "--no-compare"]) == 0
    assert fs.cat_file("ray-out/small/deep/p1.jpg") == (tmp_path / "p1.jpg").read_bytes()
    assert latest_records(manifest)["deep/p1.png"]["output"] == "s3://ray-out/small/deep/p1.jpg"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ray_address_connects_to_a_running_cluster(tmp_path: Path) -> None:
    """A head started with ``ray start`` (its own process group), and the CLI in another process."""
    ray_command = Path(sys.executable).with_name("ray")
    port, folder = _free_port(), tempfile.mkdtemp(prefix="segpress-ray-head-")
    environment = {**os.environ, **RAY_ENVIRONMENT}
    head = subprocess.Popen(
        [str(ray_command), "start", "--head", "--block", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
         "--object-store-memory=268435456", f"--temp-dir={folder}", "--disable-usage-stats"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        source = tmp_path / "src"
        photo_tree(source, ["a.png", "sub/b.png", "sub/c.png"])
        deadline = time.monotonic() + 60
        while True:  # the head listens once it is up
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and head.poll() is None, "the Ray head did not start"
            time.sleep(0.2)
        done = subprocess.run(
            [sys.executable, "-c", "from segpress.cli import run; run()", "batch", str(source), str(tmp_path / "out"),
             "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "--json"],
            env=environment, capture_output=True, text=True, timeout=240, check=False,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["engine"], report["done"]) == ("ray", 3)
        assert all(decodes(p.read_bytes()) for p in (tmp_path / "out").rglob("*.jpg"))
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_an_address_where_nothing_listens_fails_in_seconds(tmp_path: Path, capsys) -> None:
    photo_tree(tmp_path / "src", ["a.png"])
    capsys.readouterr()
    code = main(["batch", str(tmp_path / "src"), str(tmp_path / "out"), "--engine", "ray",
                 "--ray-address", f"127.0.0.1:{_free_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot reach the Ray cluster at 127.0.0.1:"), err
    assert not (tmp_path / "out").exists()
