"""``segpress batch`` reading and writing an S3-compatible store through fsspec (s3fs).

The store is moto's S3 server, started by the test on 127.0.0.1 (tests/batch_support.py); nothing
leaves the machine. The local engine's worker processes reach it with the same storage options.
"""

from __future__ import annotations

import json
from pathlib import Path

from batch_support import (
    decodes,
    encoded,
    latest_records,
    photo,
    photo_tree,
    s3_filesystem,
    s3_server,
    storage_arguments,
)

from segpress.cli import main

__all__ = ["s3_server"]  # a fixture, used by name

PHOTOS = {"a.png": ".png", "sub/b.jpg": ".jpg", "sub/deeper/c.png": ".png"}

def upload(fs, prefix: str) -> None:
    for index, (name, suffix) in enumerate(PHOTOS.items()):
        fs.pipe_file(f"{prefix}/{name}", encoded(photo(index), suffix))
    fs.pipe_file(f"{prefix}/broken.png", b"\x89PNG\r\n\x1a\n then nothing")

def run(capsys, *argv: object) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main(["batch", *(str(a) for a in argv), "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err

def test_bucket_to_bucket_mirrors_the_layout_and_resumes_by_etag(s3_server, tmp_path: Path, capsys) -> None:
    fs = s3_filesystem(s3_server)
    fs.mkdir("photos-in")
    fs.mkdir("photos-out")
    upload(fs, "photos-in/archive")
    manifest = tmp_path / "manifest.jsonl"
    arguments = ["s3://photos-in/archive", "s3://photos-out/small", "--workers", 2, "--manifest", manifest,
                 *storage_arguments(s3_server)]

    code, report, err = run(capsys, *arguments)
    assert code == 1 and (report["done"], report["failed"]) == (3, 1), err
    assert "error: broken.png:" in err and "Traceback" not in err
    fs.invalidate_cache()
    written = sorted(fs.find("photos-out"))
    assert written == ["photos-out/small/a.jpg", "photos-out/small/sub/b.jpg", "photos-out/small/sub/deeper/c.jpg"]
    records = latest_records(manifest)
    for name in PHOTOS:
        output = records[name]["output"]
        assert output.startswith("s3://photos-out/small/")
        data = fs.cat_file(output)
        assert decodes(data) and len(data) == records[name]["bytes_out"]
        assert records[name]["source"]["version"].strip('"') == fs.info(f"photos-in/archive/{name}")["ETag"].strip('"')

    code, report, _ = run(capsys, *arguments)
    assert (report["skipped"], report["done"], report["failed"]) == (3, 0, 1)

    fs.pipe_file("photos-in/archive/a.png", encoded(photo(7), ".png"))  # a new version of one object
    code, report, _ = run(capsys, *arguments)
    assert (report["skipped"], report["done"]) == (2, 1)

def test_local_to_bucket_and_bucket_to_local(s3_server, tmp_path: Path, capsys, monkeypatch) -> None:
    fs = s3_filesystem(s3_server)
    fs.mkdir("roundtrip")
    photo_tree(tmp_path / "src", list(PHOTOS))
    monkeypatch.chdir(tmp_path)  # where the manifest of a remote destination goes by default

    code, report, err = run(capsys, tmp_path / "src", "s3://roundtrip/out", "--workers", 1,
                            *storage_arguments(s3_server))
    assert code == 0 and report["done"] == 3, err
    assert report["manifest"] == str(tmp_path / "segpress-manifest-s3-roundtrip-out.jsonl")
    assert Path(report["manifest"]).is_file()

    code, report, err = run(capsys, "s3://roundtrip/out/**/*.jpg", tmp_path / "back", "--workers", 1,
                            "--format", "webp", *storage_arguments(s3_server))
    assert code == 0 and report["done"] == 3, err
    assert sorted(p.relative_to(tmp_path / "back").as_posix() for p in (tmp_path / "back").rglob("*.webp")) == [
        "a.webp", "sub/b.webp", "sub/deeper/c.webp"]

def test_a_missing_bucket_is_one_error_line(s3_server, tmp_path: Path, capsys) -> None:
    capsys.readouterr()
    code = main(["batch", "s3://no-such-bucket/photos", str(tmp_path / "out"), *storage_arguments(s3_server)])
    err = capsys.readouterr().err
    assert code == 1 and err.strip().startswith("error: s3://no-such-bucket/photos:"), err
    assert len(err.strip().splitlines()) == 1

