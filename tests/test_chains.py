"""Commands that chain as a new user strings them together: ``segment`` then ``compress --labels`` or
``batch --labels`` on its folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata
from test_cli import json_objects

from segpress.cli import main

SIZE = (160, 120)


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for name, picture in (("astronaut", skdata.astronaut()), ("coffee", skdata.coffee())):
        Image.fromarray(picture).resize(SIZE).save(folder / f"{name}.png")
    return folder


def test_segment_a_folder_then_compress_and_batch_with_its_labels(frames, tmp_path, capsys):
    inputs = sorted(frames.glob("*.png"))
    labels = tmp_path / "labels"
    assert main(["segment", *map(str, inputs), "-o", f"{labels}/"]) == 0
    assert {p.name for p in labels.iterdir()} >= {"astronaut-labels.png", "coffee-labels.png"}

    capsys.readouterr()
    code = main(["compress", *map(str, inputs), "-o", str(tmp_path / "out"), "--labels", str(labels),
                 "--no-compare", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    results = json_objects(captured.out)
    assert [r["source"] for r in results] == ["labels", "labels"]
    # The label map segment wrote decides the importance: the same as giving the file itself.
    single = main(["compress", str(inputs[0]), "-o", str(tmp_path / "one.jpg"), "--labels",
                   str(labels / "astronaut-labels.png"), "--no-compare"])
    assert single == 0
    assert (tmp_path / "one.jpg").read_bytes() == (tmp_path / "out" / "astronaut.jpg").read_bytes()

    capsys.readouterr()
    code = main(["batch", str(frames), str(tmp_path / "batched"), "--labels", str(labels), "--workers", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["done"] == 2
    assert (tmp_path / "batched" / "astronaut.jpg").read_bytes() == (tmp_path / "out" / "astronaut.jpg").read_bytes()


def test_a_plain_name_wins_and_a_missing_one_names_both(frames, tmp_path, capsys):
    labels = tmp_path / "labels"
    labels.mkdir()
    sky = np.full(SIZE[::-1], 0, np.uint8)
    Image.fromarray(sky).save(labels / "astronaut.png")
    Image.fromarray(sky + 1).save(labels / "astronaut-labels.png")
    capsys.readouterr()
    code = main(["compress", str(frames / "astronaut.png"), str(frames / "coffee.png"), "-o", str(tmp_path / "out"),
                 "--labels", str(labels), "--no-compare", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip() == f"error: no coffee.png or coffee-labels.png in {labels} for coffee.png"
    assert main(["compress", str(frames / "astronaut.png"), "-o", str(tmp_path / "a.jpg"), "--labels",
                 str(labels / "astronaut.png"), "--no-compare"]) == 0
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "out" / "astronaut.jpg").read_bytes()


def _segpress(*argv: object, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The CLI in a subprocess, with real stdin and stdout."""
    return subprocess.run([sys.executable, "-c", "from segpress.cli import run; run()", *map(str, argv)],
                          input=stdin, capture_output=True, timeout=120, check=False)


def test_dash_reads_stdin_and_writes_stdout(frames, tmp_path):
    """`segpress compress - -o - < in.png > out.jpg`, as cjpeg and cwebp take it; the table goes to stderr."""
    photo = (frames / "coffee.png").read_bytes()
    mask = np.zeros(SIZE[::-1], np.uint8)
    mask[30:90, 40:120] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    piped = _segpress("compress", "-", "-o", "-", "--mask", tmp_path / "mask.png", "--no-compare", stdin=photo)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout[:3] == b"\xff\xd8\xff"  # the JPEG itself, nothing else
    assert b"segpress compress" in piped.stderr and f"{len(piped.stdout):,}".encode() in piped.stderr
    assert not (tmp_path / "-").exists()
    # The same bytes as from the file to a file.
    assert main(["compress", str(frames / "coffee.png"), "-o", str(tmp_path / "c.jpg"), "--mask",
                 str(tmp_path / "mask.png"), "--no-compare", "-q"]) == 0
    assert piped.stdout == (tmp_path / "c.jpg").read_bytes()

    to_file = _segpress("compress", "-", "-o", tmp_path / "s.webp", "--mask", tmp_path / "mask.png", stdin=photo)
    assert to_file.returncode == 0 and (tmp_path / "s.webp").read_bytes()[8:12] == b"WEBP"
    webp = _segpress("compress", frames / "coffee.png", "-o", "-", "--format", "webp", "--mask", tmp_path / "mask.png",
                     "--json", "--no-compare")
    assert webp.returncode == 0 and webp.stdout[8:12] == b"WEBP" and b'"format": "webp"' in webp.stderr

    bad = _segpress("compress", "-", "-o", "-", "--mask", tmp_path / "mask.png", stdin=b"not an image")
    assert bad.returncode == 1 and bad.stdout == b""
    assert bad.stderr.decode().startswith("error: stdin: ") and len(bad.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["-", "-", "-o", "x.jpg"], "at most once"),
        (["a.png", "b.png", "-o", "-"], "give one input"),
        (["-", "-o", "out/"], "-o FILE or -o -"),
    ],
)
def test_dash_refusals(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compress", *argv, "--mask", "m.png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and len(err.splitlines()) == 1
