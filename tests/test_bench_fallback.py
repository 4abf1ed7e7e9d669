"""segpress bench reports what compress writes at defaults: the fallback to uniform, counted; task fidelity at
equal bytes. Images are scikit-image photos written by the tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from segpress import api, codecs
from segpress.bench import BenchSettings, run_bench
from segpress.bench.fallback import UniformFiles, check
from segpress.bench.summary import equal_bytes
from segpress.cli import main
from segpress.codecs import EncodeSettings
from segpress.ratecontrol import decode_like

QUALITIES = (40, 60, 80, 95)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench-fallback-photos")
    Image.fromarray(np.ascontiguousarray(data.chelsea()[::3, ::3])).save(folder / "cat.png")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[::4, ::4])).save(folder / "person.png")
    return folder


@pytest.fixture(scope="module")
def default_run(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-fallback-out")
    settings = BenchSettings(formats=("jpeg", "webp"), qualities=QUALITIES)
    return run_bench([photos], settings, out, workers=1, crops=False), out


def _semantic(results: dict, image: str, format: str) -> list[dict]:
    entry = next(i for i in results["images"] if i["name"] == image)
    return entry["formats"][format]["points"]["semantic"]


@pytest.mark.parametrize("format", ["jpeg", "webp"])
def test_semantic_points_are_the_files_compress_writes(photos, default_run, format):
    outcome, _ = default_run
    for name in ("cat", "person"):
        for point in _semantic(outcome.results, name, format):
            written = api.compress(photos / f"{name}.png", format=format, roi_quality=point["quality"],
                                   bg_quality=point["bg_quality"])
            assert (point["bytes"], point["fallback"]) == (written.size, written.fallback)
            if point["fallback"]:
                assert point["written_quality"] == written.roi_quality == written.bg_quality
                assert point["adaptive"]["bytes"] == written.adaptive_size


def test_the_report_counts_files_larger_than_uniform(default_run):
    outcome, out = default_run
    summary = outcome.results["summary"]
    tally = summary["fallback"]["all"]
    assert tally["points"] == tally["checked"] == 2 * 2 * len(QUALITIES)
    assert tally["larger_than_uniform"] == 0
    for format in ("jpeg", "webp"):
        by_quality = summary["fallback"]["formats"][format]["by_quality"]
        assert sum(cell["fired"] for cell in by_quality.values()) == summary["fallback"]["formats"][format]["all"]["fired"]
    for image in outcome.results["images"]:
        for format, entry in image["formats"].items():
            for point in entry["points"]["semantic"]:
                assert point["bytes"] <= point["check"]["reaching_bytes"]  # the ground rule, point by point
                assert "confusion_truth" not in point.get("adaptive", {})  # the matrices stay in the cache
    assert summary["bd_rate_adaptive"] is not None
    report = (out / "report.md").read_text()
    assert "Never larger than uniform: the fallback" in report
    assert f"the fallback fired on {tally['fired']} of {tally['checked']} semantic files checked" in report
    assert "Files larger than the uniform file with the same PSNR inside" in report and ": 0." in report
    assert "Task fidelity at equal bytes" in report and "plots/task-equal-bytes.png" in report
    assert (out / "plots" / "task-equal-bytes.png").read_bytes()[:4] == b"\x89PNG"
    assert set(summary["equal_bytes"]) == {"semantic", "adaptive"}


def test_a_fallback_reports_the_uniform_file_and_keeps_the_adaptive_one(photos, tmp_path, monkeypatch):
    # Force the decision (every adaptive file replaced by the smallest uniform file that reaches its PSNR inside):
    # the plumbing around it is under test here, compress's rule in the tests above and in test_uniform.
    def always(codec, pixels, region, adaptive_size, adaptive_psnr, match, target_bytes, settings, metadata):
        return None if match.data is None else (match.data, match.data_quality)

    monkeypatch.setattr("segpress.bench.fallback.fallback_file", always)
    settings = BenchSettings(formats=("jpeg",), qualities=QUALITIES)
    outcome = run_bench([photos / "person.png"], settings, tmp_path, workers=1, report=False)
    codec = codecs.get("jpeg")
    pixels = np.asarray(Image.open(photos / "person.png").convert("RGB"))
    points = outcome.results["images"][0]["formats"]["jpeg"]["points"]
    uniform = {p["quality"]: p for p in points["uniform"]}
    for point in points["semantic"]:
        assert point["fallback"] is True
        written = point["written_quality"]
        assert point["bytes"] == point["check"]["reaching_bytes"]
        assert point["bytes"] == len(codec.encode_uniform(pixels, written, settings.encode_settings(written, "uniform")))
        if written in uniform:  # the sweep's own measurement, reused
            assert point["psnr_roi"] == uniform[written]["psnr_roi"]
        assert point["adaptive"]["quality"] == point["quality"] and point["adaptive"]["bg_quality"] == 25
        assert point["quality"] in QUALITIES and point["bg_quality"] == 25  # still the sweep's position
    summary = outcome.results["summary"]
    assert summary["fallback"]["all"]["fired"] == summary["fallback"]["all"]["checked"] == len(QUALITIES)
    assert summary["fallback"]["all"]["saving"] == 0.0
    # "adaptive" curves are the files before the fallback
    adaptive = summary["curves"]["jpeg"]["adaptive"]
    assert [p["bpp"] for p in adaptive] == pytest.approx(
        [p["adaptive"]["bpp"] for p in points["semantic"]], rel=1e-5)


def test_no_fallback_measures_the_adaptive_files_under_its_own_cache_key(photos, default_run, tmp_path, capsys):
    outcome, out = default_run
    image = photos / "person.png"
    code = main(["bench", str(image), "-o", str(tmp_path), "--cache", str(out / "cache"), "--formats", "jpeg",
                 "--qualities", ",".join(map(str, QUALITIES)), "--workers", "1", "--no-crops", "--no-fallback"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 records measured, 0 from the cache" in printed  # not the fallback run's records
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["fallback"] is False
    assert results["summary"]["fallback"] is None and results["summary"]["bd_rate_adaptive"] is None
    assert set(results["summary"]["equal_bytes"]) == {"semantic"}
    points = results["images"][0]["formats"]["jpeg"]["points"]["semantic"]
    assert all(p["fallback"] is None and "check" not in p for p in points)
    before = _semantic(outcome.results, "person", "jpeg")
    assert [p["bytes"] for p in points] == [(p.get("adaptive") or p)["bytes"] for p in before]
    assert "Measured with --no-fallback" in (tmp_path / "report.md").read_text()


def test_check_replaces_a_larger_file_and_reuses_the_sweeps_encodes():
    pixels = np.ascontiguousarray(data.astronaut()[::4, ::4])
    region = np.zeros(pixels.shape[:2], bool)
    region[30:100, 40:90] = True
    codec = codecs.get("jpeg")
    settings = EncodeSettings(80, 25)
    files = UniformFiles(codec, pixels)
    sweep = files.encode(pixels, 80, settings)
    assert files.encodes == 1 and files.encode(pixels, 80, EncodeSettings(80, 80)) is sweep  # memoised
    padded = sweep + b"\0" * 500  # the same pixels, 500 bytes more: the uniform q80 file must win
    decoded = decode_like(codec, padded, pixels)
    found = check(codec, pixels, region, padded, decoded, settings, files)
    assert found is not None and found.written is not None
    assert found.written == (sweep, 80) and found.encodes == files.encodes - 1
    assert found.describe()["reaching_bytes"] == len(sweep)
    assert check(codec, pixels, np.zeros_like(region), sweep, decoded, settings, files) is None  # no region


def test_equal_bytes_interpolates_the_uniform_curve_in_log_bpp():
    task = {"ground_truth": True, "curves": {"jpeg": {
        "uniform": [{"quality": q, "bpp": bpp, "miou_truth": miou} for q, bpp, miou in
                    ((50, 0.5, 0.40), (70, 1.0, 0.50), (90, 2.0, 0.60))],
        "semantic": [{"quality": q, "bpp": bpp, "miou_truth": miou} for q, bpp, miou in
                     ((50, 0.25, 0.9), (70, math.sqrt(2), 0.56), (90, 1.0, 0.49))],
    }}}
    found = equal_bytes(task, ["jpeg"])
    cells = found["formats"]["jpeg"]
    assert found["miou"] == "miou_truth"
    assert [p["quality"] for p in cells["points"]] == [70, 90]  # 0.25 bpp is below the uniform curve: not compared
    assert cells["points"][0]["uniform"] == pytest.approx(0.55)  # halfway between 1 and 2 bpp in log bpp
    assert cells["min_difference"] == pytest.approx(-0.01) and cells["not_below"] is False
    task["curves"]["jpeg"]["semantic"] = task["curves"]["jpeg"]["semantic"][:1]
    assert equal_bytes(task, ["jpeg"])["formats"]["jpeg"]["not_below"] is None
