"""segpress bench: metrics against published references, the run on a tiny labelled folder, resume, bad input.

The images are small crops of scikit-image photos with hand-drawn label maps written by the tests;
nothing comes from outside the repository.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data, draw

from segpress.bench import BenchSettings, Labels, run_bench
from segpress.bench import measure as bench_measure
from segpress.bench.quality import MS_SSIM_WEIGHTS, MsSsim, ms_ssim_db, region_quality, ssim
from segpress.bench.schema import SCHEMA_VERSION, schema_document
from segpress.cli import main
from segpress.errors import InputError
from segpress.metrics import bd_rate

FAST = dict(formats=("jpeg", "webp"), qualities=(40, 60, 80, 95))


# --- BD-rate: the same numbers as an independent implementation --------------------------------------------

# x265 rate (kbps) / PSNR (dB) pairs published with the bjontegaard package (FAU-LMS/bjontegaard, README.md
# and example_usage.py, "Test 1" and "Test 2 (high bitrates)"): anchor then test.
PUBLISHED_PAIRS = [
    ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
     [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
    ([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615],
     [99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
]


@pytest.mark.parametrize("pair", PUBLISHED_PAIRS)
def test_bd_rate_agrees_with_the_bjontegaard_package(pair):
    bjontegaard = pytest.importorskip("bjontegaard")
    ours = bd_rate(*pair)
    # "cubic" is VCEG-M33's polynomial fit: the same definition, so the same number.
    assert ours == pytest.approx(bjontegaard.bd_rate(*pair, method="cubic", min_overlap=0), abs=1e-6)
    # PCHIP (the JCT-VC sheet's interpolation, which the package matches to 10 decimals) is a different fit
    # of the same points: within a point.
    assert abs(ours - bjontegaard.bd_rate(*pair, method="pchip", min_overlap=0)) < 1.0


def test_bd_rate_of_test_1_is_about_minus_4_4_percent():
    assert bd_rate(*PUBLISHED_PAIRS[0]) == pytest.approx(-4.4205, abs=1e-3)


# --- SSIM and MS-SSIM ------------------------------------------------------------------------------------


def _camera_pair():
    """scikit-image's test pair: camera and camera plus Gaussian noise (sigma 20) drawn with seed 5."""
    rng = np.random.RandomState(5)
    cam = data.camera()
    noisy = np.clip(cam + 20.0 * rng.randn(*cam.shape), 0, 255).astype(np.uint8)
    return cam, noisy


def test_ssim_matches_the_ipol_reference():
    # 0.357959091663361: IPOL imdiff (Getreuer's "Linear methods for image interpolation" code, mssim) on this
    # pair, quoted in scikit-image's tests (skimage/metrics/tests/test_structural_similarity.py, PR #4913).
    cam, noisy = _camera_pair()
    assert ssim(cam, noisy, {})["whole"] == pytest.approx(0.357959091663361, abs=1e-3)


def test_one_scale_of_ms_ssim_is_scikit_image_ssim():
    cam, noisy = _camera_pair()
    assert MsSsim(cam, {}, weights=(1.0,))(noisy)["whole"] == pytest.approx(ssim(cam, noisy, {})["whole"], abs=1e-12)


def test_ms_ssim_matches_published_values():
    white = np.full((256, 256, 3), 255, np.uint8)
    black = np.zeros_like(white)
    # mmeval's tests (open-mmlab/mmeval, tests/test_metrics/test_ms_ssim.py): white against black, 0.29295045 with
    # plain moments; contrast-structure is 1 at every scale, so only the coarse luminance term counts.
    assert MsSsim(white, {})(black)["whole"] == pytest.approx(0.29295045137405396, abs=1e-6)
    assert MsSsim(white, {})(white)["whole"] == pytest.approx(1.0)
    assert sum(MS_SSIM_WEIGHTS) == pytest.approx(1.0001)  # Wang et al. 2003, table 1, used as published


def test_ms_ssim_agrees_with_pytorch_msssim():
    torch = pytest.importorskip("torch")
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    cam, noisy = _camera_pair()
    blurred = ndimage.gaussian_filter(cam, 2)
    for decoded in (noisy, blurred):
        theirs = pytorch_msssim.ms_ssim(torch.from_numpy(cam[None, None].astype(np.float64)),
                                        torch.from_numpy(decoded[None, None].astype(np.float64)), data_range=255)
        assert MsSsim(cam, {})(decoded)["whole"] == pytest.approx(float(theirs), abs=1e-4)


def test_region_measures_see_where_the_damage_is():
    photo = data.astronaut()[::2, ::2]
    left = np.zeros(photo.shape[:2], bool)
    left[:, :128] = True
    damaged = photo.copy()
    damaged[:, :128] = ndimage.gaussian_filter(photo[:, :128], (3, 3, 0))

    def measure(region: np.ndarray) -> dict[str, float]:
        ms_ssim = MsSsim(photo, {"roi": region, "background": ~region})
        return region_quality(photo, damaged, region, region.astype(np.float32), ms_ssim)

    figures = measure(left)
    assert figures["psnr_roi"] < 30 and math.isinf(figures["psnr_background"])
    assert figures["ssim_roi"] < 0.9 < figures["ssim_background"]
    assert figures["ms_ssim_roi"] < figures["ms_ssim_whole"] < figures["ms_ssim_background"]
    assert figures["psnr_weighted"] == pytest.approx(figures["psnr_roi"])
    nothing = measure(np.zeros_like(left))
    assert all(math.isnan(nothing[key]) for key in ("psnr_roi", "ms_ssim_roi", "psnr_weighted"))
    assert ms_ssim_db(0.99) == pytest.approx(20.0)


# --- a tiny labelled folder ---------------------------------------------------------------------------------

CLASSES = "other\nfurry\nhuman\n"  # label values 0, 1, 2; 255 unlabelled
MAPPING = 'furry = "animal"\nhuman = "person"\n'  # "other" is left out: ignored


def _photos() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three small photos and label maps: the subject drawn as an ellipse, the rest "other"."""
    scenes = {
        "cat": (data.chelsea()[::3, ::3], 1, (50, 55, 40, 45)),
        "person": (data.astronaut()[::4, ::4], 2, (50, 60, 45, 35)),
        "cup": (data.coffee()[::4, ::4], 0, (55, 75, 30, 40)),  # no important class: judged without a region
    }
    made = {}
    for name, (pixels, value, (row, col, r_radius, c_radius)) in scenes.items():
        labels = np.zeros(pixels.shape[:2], np.uint8)
        rows, cols = draw.ellipse(row, col, r_radius, c_radius, shape=labels.shape)
        labels[rows, cols] = value
        labels[0, :] = 255
        made[name] = (np.ascontiguousarray(pixels), labels)
    return made


def _write_folder(root: Path) -> tuple[Path, Path, Path, Path]:
    images, labels = root / "images", root / "labels"
    images.mkdir(parents=True)
    labels.mkdir()
    for name, (pixels, label_map) in _photos().items():
        Image.fromarray(pixels).save(images / f"{name}.png")
        Image.fromarray(label_map).save(labels / f"{name}.png")
    (root / "classes.txt").write_text(CLASSES)
    (root / "mapping.toml").write_text(MAPPING)
    return images, labels, root / "classes.txt", root / "mapping.toml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    return _write_folder(tmp_path_factory.mktemp("bench-data"))


def _settings(folder, **changes) -> BenchSettings:
    images, labels, classes, mapping = folder
    return BenchSettings(**{**FAST, "labels": Labels.load(labels, classes, mapping), **changes})


@pytest.fixture(scope="module")
def labelled_run(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-out")
    outcome = run_bench([folder[0]], _settings(folder), out, workers=1)
    return outcome, out


def test_results_follow_the_schema_and_say_who_judged(labelled_run):
    jsonschema = pytest.importorskip("jsonschema")
    outcome, out = labelled_run
    results = json.loads((out / "results.json").read_text())
    jsonschema.validate(results, schema_document())
    assert json.loads((out / "results.schema.json").read_text()) == json.loads(json.dumps(schema_document()))
    assert results["schema"] == SCHEMA_VERSION
    assert results["settings"]["judge"] == "labels"
    assert {image["name"] for image in results["images"]} == {"cat", "cup", "person"}
    assert all(image["judge"] == "labels" for image in results["images"])
    summary = results["summary"]
    assert summary["images"] == 3 and summary["images_with_region"] == 2
    assert summary["images_without_region"] == ["cup"]
    assert any(note.startswith("cup: no important pixels") for note in results["notes"])
    point = results["images"][0]["formats"]["jpeg"]["points"]["semantic"][0]
    for key in ("bytes", "bpp", "psnr_roi", "psnr_background", "ssim_whole", "ms_ssim_roi", "psnr_weighted",
                "encode_s", "decode_s", "segment_s"):
        assert key in point
    assert set(summary["bd_rate"]) == {"psnr_roi", "ms_ssim_roi_db"}
    assert set(summary["bd_rate"]["psnr_roi"]["webp"]) == {"jpeg", "webp"}
    task = summary["task"]
    assert task["ground_truth"] and 0 <= task["original"]["miou"] <= 1
    # Quality 95 changes few labels. (Pixel accuracy, not mIoU: on these small pictures a class the model
    # gives a few dozen pixels makes the mIoU swing with any model update.)
    assert task["curves"]["jpeg"]["uniform"][-1]["pixel_accuracy_original"] > 0.8
    report = (out / "report.md").read_text()
    assert "judged by the ground-truth labels" in report
    assert "BD-rate, PSNR of the important region" in report
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    for name in ("plots/rd-psnr_roi.png", "plots/rd-ms_ssim_roi_db.png", "plots/task-miou.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((out / "crops").glob("*.png"))


def test_no_crops_leaves_the_pixels_out_and_names_the_images(folder, labelled_run, tmp_path):
    _, out = labelled_run
    shutil.copytree(out, tmp_path / "out")  # with its cache: nothing is measured again
    outcome = run_bench([folder[0]], _settings(folder), tmp_path / "out", workers=1, crops=False)
    assert outcome.measured == 0
    assert not list((tmp_path / "out" / "crops").glob("*.png"))  # the earlier run's crops are gone too
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Crops left out (--no-crops)" in report and "crops/" not in report


def test_bd_rates_of_the_run_agree_with_an_independent_computation(labelled_run):
    bjontegaard = pytest.importorskip("bjontegaard")
    outcome, _ = labelled_run
    curves = outcome.results["summary"]["curves"]
    table = outcome.results["summary"]["bd_rate"]["psnr_roi"]
    for semantic in ("jpeg", "webp"):
        for uniform in ("jpeg", "webp"):
            reference, test = curves[uniform]["uniform"], curves[semantic]["semantic"]
            expected = bjontegaard.bd_rate([p["bpp"] for p in reference], [p["psnr_roi"] for p in reference],
                                           [p["bpp"] for p in test], [p["psnr_roi"] for p in test],
                                           method="cubic", min_overlap=0)
            found = table[semantic][uniform]["average_curve"]
            if found is not None:  # None only where the curves do not overlap
                assert abs(found - expected) < 1.0


def test_semantic_sweep_keeps_the_background_quality(labelled_run):
    outcome, _ = labelled_run
    image = outcome.results["images"][0]["formats"]["jpeg"]["points"]
    assert [p["bg_quality"] for p in image["semantic"]] == [25, 25, 25, 25]
    assert [p["bg_quality"] for p in image["uniform"]] == [40, 60, 80, 95]
    assert [p["quality"] for p in image["semantic"]] == [40, 60, 80, 95]


def test_a_rerun_takes_everything_from_the_cache(folder, labelled_run, tmp_path):
    outcome, out = labelled_run
    again = run_bench([folder[0]], _settings(folder), tmp_path, cache_folder=out / "cache", workers=1, report=False)
    assert (again.measured, again.cached) == (0, 6)
    assert json.loads((tmp_path / "results.json").read_text())["images"] == \
        json.loads((out / "results.json").read_text())["images"]
    one_format = run_bench([folder[0]], _settings(folder, formats=("webp",)), tmp_path, cache_folder=out / "cache",
                           workers=1, report=False)
    assert (one_format.measured, one_format.cached) == (0, 3)  # a record does not depend on the other formats


def test_an_interrupted_run_resumes_where_it_stopped(folder, tmp_path, monkeypatch):
    real = bench_measure.measure_job
    done = []

    def interrupted_after_one(job):
        if done:
            raise KeyboardInterrupt
        done.append(job.image.name)
        return real(job)

    monkeypatch.setattr("segpress.bench.runner.measure_job", interrupted_after_one)
    settings = _settings(folder, formats=("jpeg",))
    with pytest.raises(KeyboardInterrupt):
        run_bench([folder[0]], settings, tmp_path, workers=1, report=False)
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1  # the finished image's record, whole
    # a record cut short by a kill is not a record: measured again
    (tmp_path / "cache" / "garbage.jpeg.0000.json").write_text('{"schema": "segpress.bench.rec')
    monkeypatch.setattr("segpress.bench.runner.measure_job", real)
    resumed = run_bench([folder[0]], settings, tmp_path, workers=1, report=False)
    assert (resumed.measured, resumed.cached) == (2, 1)
    assert resumed.results["summary"]["images"] == 3


def test_without_labels_the_model_judges_and_the_report_says_so(folder, tmp_path):
    outcome = run_bench([folder[0] / "cat.png"], BenchSettings(**{**FAST, "formats": ("jpeg",)}), tmp_path, workers=1)
    results = outcome.results
    assert results["settings"]["judge"] == "model" and results["images"][0]["judge"] == "model"
    assert results["images"][0]["region_fraction"] > 0.2  # the model finds the cat (animal: weight 1)
    assert results["summary"]["task"]["ground_truth"] is False
    assert "judged by the segmentation model" in (tmp_path / "report.md").read_text()


def test_two_workers_measure_in_parallel_and_fill_the_cache(folder, tmp_path):
    settings = _settings(folder, formats=("jpeg",))
    outcome = run_bench([folder[0] / "cat.png", folder[0] / "person.png"], settings, tmp_path, workers=2,
                        report=False)
    assert (outcome.measured, outcome.cached, outcome.failures) == (2, 0, [])
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2


# --- bad input: listed, never fatal ------------------------------------------------------------------------


def test_bad_files_are_listed_and_the_rest_measured(tmp_path, capsys):
    images, labels, classes, mapping = _write_folder(tmp_path)
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(labels / "cup.png")  # wrong size
    shutil.copy(images / "cat.png", images / "stray.png")  # no label file
    label_map = np.asarray(Image.open(labels / "person.png")).copy()
    label_map[5, 5] = 7  # not one of the 3 classes
    Image.fromarray(label_map).save(labels / "person.png")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(labels / "broken.png")
    out = tmp_path / "out"
    code = main(["bench", str(images), "--labels", str(labels), "--classes", str(classes), "--mapping", str(mapping),
                 "-o", str(out), "--formats", "jpeg", "--qualities", "40,60,80,95", "--workers", "1"])
    assert code == 1
    errors = capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    failures = {Path(f["path"]).name: f for f in results["failures"]}
    assert set(failures) == {"broken.png", "cup.png", "person.png", "stray.png"}
    assert failures["stray.png"]["stage"] == "labels" and "no label file stray.png" in failures["stray.png"]["error"]
    assert failures["cup.png"]["stage"] == "labels" and "size" in failures["cup.png"]["error"]
    assert failures["person.png"]["stage"] == "labels" and "label value 7" in failures["person.png"]["error"]
    assert failures["broken.png"]["stage"] == "input"
    assert [image["name"] for image in results["images"]] == ["cat"]
    assert "Not measured" in (out / "report.md").read_text()
    assert errors.count("error: ") == 4 and "Traceback" not in errors


def test_an_empty_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["bench", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "no images to measure" in error and "no images in this folder" in error and "Traceback" not in error


def test_no_images_at_all_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run_bench([tmp_path / "missing.png"], BenchSettings(**FAST), tmp_path / "out")


@pytest.mark.parametrize("arguments, message", [
    (["--classes", "c.txt"], "--labels and --classes go together"),
    (["--formats", "jpeg,nope"], "unknown format"),
    (["--qualities", "50,60"], "at least 4"),
    (["--qualities", "50,60,x,90"], "whole numbers"),
    (["--workers", "0"], "at least 1"),
    (["--policy", "no-such-policy"], "policy"),
])
def test_bad_options_exit_2(tmp_path, capsys, arguments, message):
    image = tmp_path / "a.png"
    Image.fromarray(data.chelsea()[::4, ::4]).save(image)
    assert main(["bench", str(image), "-o", str(tmp_path / "out"), *arguments]) == 2
    assert message in capsys.readouterr().err
