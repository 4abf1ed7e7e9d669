"""``segpress batch`` with the local engine: layout, manifest, resuming, bad inputs, options, crashes.

The CLI runs in-process (``segpress.cli.main``); its worker processes are real (spawned). Photos are
160x120 crops of scikit-image pictures (tests/batch_support.py).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from batch_support import (
    TEMPORARY,
    centre_mask_png,
    decodes,
    encoded,
    latest_records,
    manifest_lines,
    photo,
    photo_tree,
)
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console
from skimage import data as skdata

from segpress.batch import MANIFEST_NAME, job_settings, run_batch
from segpress.batch.manifest import ManifestWriter, read_manifest
from segpress.batch.report import summary_table
from segpress.batch.runner import BatchSummary
from segpress.batch.storage import parse_storage_options
from segpress.cli import main
from segpress.errors import OptionError
from segpress.policy import PRESETS
from segpress.text import DEFAULT_SCALE as DEFAULT_TEXT_SCALE

PHOTOS = ["a.png", "b.jpg", "sub/c.png", "sub/deeper/d.tif"]


@dataclass
class Run:
    code: int
    out: str
    err: str


def batch(capsys: pytest.CaptureFixture[str], *argv: object) -> Run:
    capsys.readouterr()
    code = main(["batch", *(str(arg) for arg in argv)])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def summary(run: Run) -> dict:
    """The --json summary printed on stdout."""
    return json.loads(run.out)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Four photos in three folders, a corrupt JPEG, a text file and a hidden image."""
    root = tmp_path / "src"
    photo_tree(root, PHOTOS)
    (root / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    (root / "notes.txt").write_text("not an image")
    photo_tree(root, [".hidden.png"])
    return root


def error_lines(run: Run) -> list[str]:
    return [line for line in run.err.splitlines() if line.startswith("error:")]


def test_batch_mirrors_the_layout_and_records_every_input(source: Path, tmp_path: Path, capsys) -> None:
    destination = tmp_path / "out"
    run = batch(capsys, source, destination, "--workers", 2, "--json")
    assert run.code == 1, run.err  # one input failed
    assert "Traceback" not in run.err
    assert error_lines(run) == ["error: bad.jpg: image header is corrupt (Truncated File Read)"]
    report = summary(run)
    assert (report["found"], report["done"], report["failed"], report["ignored"]) == (5, 4, 1, 1)
    assert report["bytes_in"] == sum((source / name).stat().st_size for name in PHOTOS)
    assert len(report["worker_peak_rss"]) in (1, 2) and min(report["worker_peak_rss"]) > 10 * 2**20

    outputs = sorted(p.relative_to(destination).as_posix() for p in destination.rglob("*") if p.is_file())
    assert outputs == sorted([MANIFEST_NAME, "a.jpg", "b.jpg", "sub/c.jpg", "sub/deeper/d.jpg"])
    records = latest_records(destination / MANIFEST_NAME)
    assert set(records) == {*PHOTOS, "bad.jpg"}
    for name in PHOTOS:
        record = records[name]
        output = destination / (name.rsplit(".", 1)[0] + ".jpg")
        assert record["status"] == "done" and record["error"] is None
        assert record["output"] == str(output)
        assert record["bytes_in"] == (source / name).stat().st_size
        assert record["bytes_out"] == output.stat().st_size and decodes(output.read_bytes())
        assert record["psnr_roi"] is None or record["psnr_roi"] > 25
        # Compared by default, for the fallback to the uniform file: never a negative saving.
        if record["fallback"]:
            assert record["roi_quality"] == record["bg_quality"] and record["saving"] == 0
            assert any("--no-fallback" in note for note in record["notes"])
        else:
            assert record["roi_quality"] == 85 and record["bg_quality"] == 25
            assert record["saving"] is None or record["saving"] >= 0
        assert record["source"] == {"size": (source / name).stat().st_size, "version": record["source"]["version"]}
    assert records["bad.jpg"]["status"] == "failed" and records["bad.jpg"]["output"] is None
    run_line = manifest_lines(destination / MANIFEST_NAME)[0]
    assert run_line["fingerprint"] == records["a.png"]["fingerprint"] and run_line["settings"]["format"] == "jpeg"


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(source: Path, tmp_path: Path, capsys) -> None:
    destination = tmp_path / "out"
    assert batch(capsys, source, destination, "--workers", 1).code == 1
    stamps = {p: p.stat().st_mtime_ns for p in destination.rglob("*.jpg")}

    again = summary(batch(capsys, source, destination, "--workers", 1, "--json"))
    assert (again["skipped"], again["done"], again["failed"]) == (4, 0, 1)  # the failure is tried again
    assert {p: p.stat().st_mtime_ns for p in destination.rglob("*.jpg")} == stamps

    photo_tree(source, ["zz-new.png"])
    (source / "b.jpg").write_bytes((source / "a.png").read_bytes())  # changed content (and size)
    (destination / "sub" / "c.jpg").unlink()  # an output that went missing
    (source / "bad.jpg").unlink()
    changed = batch(capsys, source, destination, "--workers", 1, "--json")
    assert changed.code == 0, changed.err
    report = summary(changed)
    assert (report["skipped"], report["done"], report["failed"]) == (2, 3, 0)
    assert (destination / "sub" / "c.jpg").is_file() and (destination / "zz-new.jpg").is_file()

    other = summary(batch(capsys, source, destination, "--workers", 1, "--roi-quality", 80, "--json"))
    assert (other["skipped"], other["done"]) == (0, 5)  # new settings: everything again
    records = latest_records(destination / MANIFEST_NAME)
    assert {r["roi_quality"] for r in records.values() if r["status"] == "done"} == {80}
    assert records["bad.jpg"]["status"] == "failed"  # an input gone since keeps its last record


def test_masks_from_a_mirrored_folder_give_what_compress_gives(tmp_path: Path, capsys) -> None:
    source, masks = tmp_path / "src", tmp_path / "masks"
    photo_tree(source, ["a.png", "sub/b.png", "no-mask.png", "bad-mask.png"])
    for name in ("a.png", "sub/b.png"):
        (masks / name).parent.mkdir(parents=True, exist_ok=True)
        (masks / name).write_bytes(centre_mask_png())
    (masks / "bad-mask.png").write_bytes(b"not a picture")
    destination = tmp_path / "out"
    run = batch(capsys, source, destination, "--mask", masks, "--format", "webp", "--workers", 1, "--strip")
    assert run.code == 1
    broken, missing = sorted(error_lines(run))
    assert broken.startswith(f"error: bad-mask.png: {masks / 'bad-mask.png'}: not an image")  # the mask named
    assert missing == f"error: no-mask.png: no mask no-mask.png in {masks}"
    single = tmp_path / "single.webp"
    assert main(["compress", str(source / "sub/b.png"), "--mask", str(masks / "sub/b.png"), "-o", str(single),
                 "--strip", "--no-compare"]) == 0
    assert (destination / "sub" / "b.webp").read_bytes() == single.read_bytes()
    records = latest_records(destination / MANIFEST_NAME)
    assert records["sub/b.png"]["psnr_roi"] > 30 and records["sub/b.png"]["important_fraction"] == pytest.approx(0.25, abs=0.02)


def test_the_saving_says_what_it_is_measured_against(tmp_path: Path, capsys) -> None:
    """Bytes saved are against the input files; with --compare also against uniform encodes."""
    source, masks = tmp_path / "src", tmp_path / "masks"
    photo_tree(source, ["a.png", "b.png"])
    masks.mkdir()
    for name in ("a.png", "b.png"):
        (masks / name).write_bytes(centre_mask_png())
    report = summary(batch(capsys, source, tmp_path / "out", "--mask", masks, "--workers", 1, "--compare", "--json"))
    records = latest_records(tmp_path / "out" / MANIFEST_NAME)
    uniform = sum(record["bytes_uniform"] for record in records.values())
    assert report["bytes_uniform"] == uniform and report["compared"] == 2
    assert report["uniform_saving"] == pytest.approx(1 - report["bytes_out"] / uniform)
    assert 0 < report["uniform_saving"] < report["bytes_saved"] / report["bytes_in"]  # PNG inputs are large

    shown = summary_table(BatchSummary(
        "src", "out", "out/m.jsonl", "local", found=2, done=2, bytes_in=4_000_000, bytes_out=400_000,
        compared=2, bytes_uniform=800_000, bytes_out_compared=400_000,
    ))
    text = " ".join(_rendered(shown).split())
    assert "3.6 MB smaller than the input files (90.0 %)" in text
    assert "400.0 kB smaller than uniform encodes of the same format with the same PSNR inside (50.0 %" in text
    no_compare = " ".join(_rendered(summary_table(BatchSummary("s", "o", "m", "local", done=1, bytes_in=10,
                                                                bytes_out=20))).split())
    assert "10 bytes larger than the input files" in no_compare and "uniform" not in no_compare


def _rendered(table) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(table)
    return console.file.getvalue()


def test_a_glob_source_and_two_inputs_for_one_output(tmp_path: Path, capsys) -> None:
    source = tmp_path / "src"
    photo_tree(source, ["x.png", "x.tif", "keep/y.png", "skip/z.jpg"])
    destination = tmp_path / "out"
    run = batch(capsys, f"{source}/*/*.png", destination, "--workers", 1, "--json")
    assert run.code == 0, run.err
    assert summary(run)["found"] == 1 and (destination / "keep" / "y.jpg").is_file()

    clash = batch(capsys, source, tmp_path / "out2", "--workers", 1)
    assert clash.code == 1
    assert error_lines(clash) == ["error: x.tif: its output x.jpg is written for x.png; rename one of them"]


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["{src}", "{src}/out"], 2, "overlap"),
        (["{src}/sub", "{src}"], 2, "overlap"),
        (["{src}", "{tmp}/out", "--engine", "spark"], 2, "unknown engine 'spark'"),
        (["{src}", "{tmp}/out", "--workers", "0"], 2, "--workers must be at least 1"),
        (["{src}", "{tmp}/out", "--roi-quality", "101"], 2, "roi quality must be within 1..100"),
        (["{src}", "{tmp}/out", "--mask", "{tmp}", "--labels", "{tmp}"], 2, "--mask or --labels, not both"),
        (["{src}", "{tmp}/out", "--storage-option", "novalue"], 2, "give KEY=VALUE"),
        (["{tmp}/missing", "{tmp}/out"], 1, "no such file or folder"),
        (["{tmp}/empty", "{tmp}/out"], 1, "no images found"),
        (["{src}", "{tmp}/out", "--format", "gif"], 2, "gif"),
        (["{src}", "{tmp}/out", "--text-scale", "0.8"], 2, "--text-scale applies only with --text"),
        (["{src}", "{tmp}/out", "--text", "--text-scale", "0"], 2, "scale must be in (0, 4]"),
    ],
)
def test_bad_options_and_sources_give_one_error_line(
    source: Path, tmp_path: Path, capsys, arguments: list[str], code: int, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    run = batch(capsys, *(a.format(src=source, tmp=tmp_path) for a in arguments))
    assert run.code == code, run.err
    assert len(error_lines(run)) == 1 and message in error_lines(run)[0], run.err
    assert "Traceback" not in run.err
    assert not (tmp_path / "out").exists()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (links followed) and its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("reach", ["dotdot", "link", "link_inside_destination", "mask_folder"])
def test_a_destination_that_reaches_into_the_source_is_refused(
    source: Path, tmp_path: Path, capsys, reach: str
) -> None:
    """Through .., a symlink to the source, a symlink inside the destination, or the mask folder: one error, nothing written."""
    (tmp_path / "elsewhere").mkdir()
    extra: list[object] = []
    if reach == "dotdot":
        destination = tmp_path / "elsewhere" / ".." / "src" / "sub"
    elif reach == "link":
        destination = tmp_path / "link"
        destination.symlink_to(source / "sub", target_is_directory=True)
    elif reach == "link_inside_destination":
        destination = tmp_path / "out"
        destination.mkdir()
        (destination / "sub").symlink_to(source / "sub", target_is_directory=True)
    else:
        destination, extra = tmp_path / "out", ["--mask", tmp_path / "out" / "masks"]
        photo_tree(destination / "masks", ["a.png"])
    before = snapshot(tmp_path)
    run = batch(capsys, source, destination, "--workers", 1, *extra)
    assert run.code == 2, run.err
    assert len(error_lines(run)) == 1, run.err
    assert "overlap" in run.err or "through a link" in run.err
    assert "Traceback" not in run.err
    assert snapshot(tmp_path) == before  # no input replaced, no output, no manifest


def test_an_object_store_destination_inside_the_source_is_refused(capsys) -> None:
    """URLs are compared normalised: memory://x/elsewhere/../src/sub lies inside memory://x/src."""
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe_file("/overlap-test/src/sub/a.png", encoded(photo(0), ".png"))
    try:
        run = batch(capsys, "memory://overlap-test/src", "memory://overlap-test/elsewhere/../src/sub", "--workers", 1)
        assert run.code == 2, run.err
        assert len(error_lines(run)) == 1 and "overlap" in error_lines(run)[0], run.err
        assert memory.find("/overlap-test") == ["/overlap-test/src/sub/a.png"]
    finally:
        memory.rm("/overlap-test", recursive=True)


@pytest.mark.parametrize("foreign", [b"", b"some notes\n", b'{"name": "not ours"}\n'], ids=["photo", "text", "json"])
def test_a_manifest_option_naming_a_file_that_is_not_a_manifest_is_refused(
    source: Path, tmp_path: Path, capsys, foreign: bytes
) -> None:
    """A photo (or any other file) given as --manifest is left byte for byte as it was."""
    target = tmp_path / "photo.jpg"
    target.write_bytes(foreign or (source / "b.jpg").read_bytes())
    before = target.read_bytes()
    run = batch(capsys, source, tmp_path / "out", "--workers", 1, "--manifest", target)
    assert run.code == 2, run.err
    assert error_lines(run) == [f"error: {target}: is not a segpress manifest; refusing to change it, choose another --manifest"]
    assert target.read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_the_manifest_survives_a_torn_line_and_admits_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    with ManifestWriter(path) as writer:
        writer.append({"input": "a.png", "status": "failed"})
        writer.append({"input": "a.png", "status": "done"})
        with pytest.raises(OptionError, match="another batch run"), ManifestWriter(path):
            pass
    with open(path, "ab") as fh:
        fh.write(b'{"input": "b.png", "stat')  # a kill in the middle of a line
    assert read_manifest(path) == {"a.png": {"input": "a.png", "status": "done"}}
    with ManifestWriter(path) as writer:
        writer.append({"input": "c.png", "status": "done"})
    assert [line["input"] for line in manifest_lines(path)] == ["a.png", "a.png", "c.png"]
    assert path.read_bytes().endswith(b'"done"}\n')


def test_json_nested_too_deep_is_a_foreign_line_or_plain_text(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"input": "a.png", "status": "done"}\n' + deep + "\n")
    assert read_manifest(path) == {"a.png": {"input": "a.png", "status": "done"}}
    assert parse_storage_options([f"key={deep}"]) == {"key": deep}


def test_a_worker_that_dies_costs_no_input(tmp_path: Path) -> None:
    """A worker killed in the middle (as the kernel's OOM killer would): its chunk is redone, nothing fails."""
    source = tmp_path / "src"
    photo_tree(source, [f"p{i}.png" for i in range(8)])
    killed: list[int] = []

    class KillOneWorker:
        def start(self, total: int) -> None:
            pass

        def advance(self, record: dict) -> None:
            if not killed:
                worker = multiprocessing.active_children()[0]
                killed.append(worker.pid)
                worker.kill()
                # What a worker killed mid-write leaves (the kill may or may not land in a write):
                (tmp_path / "out" / ".p7.jpg.k1ll3d00.tmp").write_bytes(b"half a JPEG")

    settings = job_settings(mask=None)
    result = run_batch(str(source), str(tmp_path / "out"), settings, workers=2, observer=KillOneWorker())
    assert killed
    assert (result.done, result.failed, result.exit_code) == (8, 0, 0)
    assert all(decodes(p.read_bytes()) for p in (tmp_path / "out").glob("*.jpg"))
    assert not [p for p in (tmp_path / "out").iterdir() if TEMPORARY.match(p.name)] and result.swept >= 1
    assert os.path.getsize(tmp_path / "out" / MANIFEST_NAME) > 0


def test_temporary_files_of_a_killed_run_are_swept(tmp_path: Path) -> None:
    source, destination = tmp_path / "src", tmp_path / "out"
    photo_tree(source, ["a.png"])
    (destination / "sub").mkdir(parents=True)
    leftovers = [destination / ".a.jpg.k3x_9abc.tmp", destination / "sub" / ".b.jpg.0123abcd.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a JPEG")
    keep = destination / ".notes.tmp"  # not the shape of atomic_write's names: not ours
    keep.write_text("mine")
    result = run_batch(str(source), str(destination), job_settings(), workers=1)
    assert (result.swept, result.done) == (2, 1)
    assert not any(path.exists() for path in leftovers) and keep.exists()


def test_a_failing_model_fails_its_images_and_a_failing_batch_is_retried_alone(tmp_path: Path) -> None:
    """The per-chunk work in-process: errors stay with the images they belong to."""
    from segpress.batch.plan import make_plan
    from segpress.batch.storage import open_location
    from segpress.batch.work import Job, process
    from segpress.errors import InputError
    from segpress.segmenters import default_segmenter

    photo_tree(tmp_path / "src", ["a.png", "b.png"])
    (tmp_path / "src" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    settings = job_settings()
    job = Job(settings, open_location(str(tmp_path / "src")), open_location(str(tmp_path / "out")), None,
              settings.fingerprint())
    tasks = make_plan(job, {}).tasks

    def broken_model():
        raise InputError("segmenter.onnx: not a usable ONNX model")

    records = process(job, tasks, broken_model)
    assert [r["error"] for r in records[:2]] == ["segmenter.onnx: not a usable ONNX model"] * 2
    assert records[2]["input"] == "c.png" and records[2]["status"] == "failed"

    class NoBatches:  # a model that fails on any batch of two or more images
        def segment_batch(self, images):
            if len(images) > 1:
                raise InputError("out of memory for a batch")
            return default_segmenter(1).segment_batch(images)

        def segment(self, pixels):
            return self.segment_batch([pixels])[0]

    records = process(job, tasks, NoBatches)
    assert [r["status"] for r in records] == ["done", "done", "failed"]
    assert (tmp_path / "out" / "a.jpg").is_file() and (tmp_path / "out" / "b.jpg").is_file()


def test_text_detection_in_a_batch_gives_what_compress_gives(tmp_path: Path, capsys) -> None:
    source = tmp_path / "src"
    source.mkdir()
    image = Image.fromarray(skdata.coffee())
    ImageDraw.Draw(image).rectangle((20, 20, 260, 64), fill=(236, 236, 228))
    ImageDraw.Draw(image).text((30, 26), "OPEN 9-17h", font=ImageFont.load_default(size=28), fill=(20, 20, 24))
    image.save(source / "sign.png")
    destination = tmp_path / "out"
    run = batch(capsys, source, destination, "--text", "--text-scale", "0.8", "--workers", 1, "--json")
    assert run.code == 0, run.err
    single = tmp_path / "single.jpg"
    assert main(["compress", str(source / "sign.png"), "--text", "--text-scale", "0.8", "-o", str(single),
                 "--no-compare"]) == 0
    assert (destination / "sign.jpg").read_bytes() == single.read_bytes()
    # Text is part of the settings: on through --text or the policy, off with --no-text; another scale,
    # another fingerprint (a re-run redoes the job).
    on = job_settings(text=True, text_scale=0.8)
    assert on.text and on.text_scale == 0.8
    assert job_settings(policy="text").text_scale == (PRESETS["text"].text_scale or DEFAULT_TEXT_SCALE)  # the preset's own, or the default
    assert job_settings(policy="text", text_scale=0.8).text_scale == 0.8
    assert job_settings(policy="text").text and not job_settings(policy="text", text=False).text
    assert len({on.fingerprint(), job_settings(text=True).fingerprint(), job_settings().fingerprint()}) == 3
