"""What ``segpress compress`` prints, as a new user reads it: rows that fit 80 columns, printed as each
file finishes, a progress bar only on a terminal, ``--quiet`` and ``--verbose``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from skimage import data as skdata

from segpress import api
from segpress import cli as cli_module
from segpress.cli import main
from segpress.cli.results import ELLIPSIS, shorten

HEIGHT, WIDTH = 96, 128


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    """Two photos with a long name and a mask, in the working folder."""
    monkeypatch.chdir(tmp_path)
    pixels = np.ascontiguousarray(skdata.astronaut()[:HEIGHT, :WIDTH])
    Image.fromarray(pixels).save(tmp_path / "astronaut.png")
    Image.fromarray(pixels[::-1]).save(tmp_path / "an_astronaut_upside_down_with_a_long_name.png")
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[20:60, 40:90] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path


@pytest.fixture
def screen(monkeypatch) -> io.StringIO:
    """stdout as an 80-column console that is not a terminal (as when piped)."""
    text = io.StringIO()
    monkeypatch.setattr(cli_module.console, "stdout", Console(file=text, width=80))
    return text


def test_shorten_keeps_the_file_name_and_cuts_the_middle():
    assert shorten("out/photo.jpg", 20) == "out/photo.jpg"
    assert shorten("build/demo/astronaut-face.jpg", 28) == "build/…/astronaut-face.jpg"  # whole folders go
    short = shorten("build/demo/some/deep/folder/astronaut.jpg", 24)
    assert len(short) <= 24 and short.endswith("/astronaut.jpg") and ELLIPSIS in short
    name = shorten("a_very_long_file_name_that_does_not_fit.jpeg", 20)
    assert len(name) == 20 and name.endswith(".jpeg") and name.startswith("a_very") and ELLIPSIS in name


def test_the_table_fits_80_columns_one_row_per_file(folder, screen, capsys):
    deep = "build/demo/a/folder/deep/enough/to/be/cut/"
    inputs = ["astronaut.png", "an_astronaut_upside_down_with_a_long_name.png"]
    code = main(["compress", *inputs, "-o", deep, "--mask", "mask.png"])
    assert code == 0, capsys.readouterr().err
    lines = screen.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    rows = [line for line in lines if line.startswith(("build", "an_"))]
    assert len(rows) == 2, lines  # one line per file: never folded
    assert rows[0].split()[0].endswith("/astronaut.jpg") and ELLIPSIS in rows[0]
    for row in rows:
        assert row.rstrip().endswith("%")  # the saving is always shown
    text = screen.getvalue()
    assert "saving: against that uniform encode" in text
    assert "not shown at 80 columns" in text and "--json" in text  # what was dropped, and where it is
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a terminal


def test_paths_are_shown_relative_to_the_working_folder(folder, screen, capsys):
    assert main(["compress", str(folder / "astronaut.png"), "-o", str(folder / "out") + "/", "--mask", "mask.png"]) == 0
    assert "out/astronaut.jpg" in screen.getvalue() and str(folder) not in screen.getvalue()


def test_each_row_is_printed_when_its_file_is_done(folder, screen, monkeypatch):
    seen_before: list[str] = []
    compress = api.compress

    def recording(source, **kwargs):
        seen_before.append(screen.getvalue())
        return compress(source, **kwargs)

    monkeypatch.setattr(api, "compress", recording)
    assert main(["compress", "astronaut.png", "an_astronaut_upside_down_with_a_long_name.png", "-o", "out/",
                 "--mask", "mask.png", "--no-compare"]) == 0
    assert "out/astronaut.jpg" not in seen_before[0]
    assert "out/astronaut.jpg" in seen_before[1]  # printed before the second file started


def test_progress_bar_only_on_a_terminal(folder, screen, monkeypatch):
    bar = io.StringIO()
    monkeypatch.setattr(cli_module.console, "stderr", Console(file=bar, force_terminal=True, width=80))
    assert main(["compress", "astronaut.png", "-o", "out/", "--mask", "mask.png", "--no-compare"]) == 0
    assert "compressing" in bar.getvalue() or "astronaut" in bar.getvalue()
    assert "out/astronaut.jpg" in screen.getvalue()
    bar.seek(0)
    bar.truncate()
    assert main(["compress", "astronaut.png", "-o", "out/", "--mask", "mask.png", "--no-compare", "--json",
                 "--overwrite"]) == 0
    assert bar.getvalue() == ""  # none with --json


def test_quiet_prints_only_errors(folder, capsys):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    code = main(["compress", "astronaut.png", "broken.png", "-o", "out", "-q", "--mask", "mask.png"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.startswith("error: ") and len(captured.err.splitlines()) == 1
    assert (folder / "out" / "astronaut.jpg").exists()
    for other in ("--json", "--verbose"):
        assert main(["compress", "astronaut.png", "-o", "x.jpg", "--quiet", other, "--mask", "mask.png"]) == 2
        assert capsys.readouterr().err.startswith("error: --quiet")


def test_verbose_says_which_encodes_ran(folder, capsys):
    code = main(["compress", "astronaut.png", "-o", "v.jpg", "--mask", "mask.png", "--verbose"])
    captured = capsys.readouterr()
    assert code == 0
    (line,) = captured.err.splitlines()
    assert line.startswith("astronaut.png -> v.jpg: importance from mask")
    assert "1 jpeg encode at roi 85 / background 25" in line and "compared with uniform JPEG" in line
    run = main(["compress", "astronaut.png", "-o", "t.jpg", "--mask", "mask.png", "-v", "--target-size", "3KB",
                "--no-compare"])
    line = capsys.readouterr().err
    assert run == 0 and "encodes to reach 3000 B" in line and "no uniform comparison" in line


def test_every_help_reads_whole_at_80_columns(capsys, monkeypatch):
    """Help is printed as written (every option's help whole: no markup eats a "[...]"), no line is wider than 80 columns,
    values are named (no <bool>, <list[Path]>), and no option name is split at a hyphen."""
    import typer

    monkeypatch.setenv("COLUMNS", "80")
    group = typer.main.get_command(cli_module.app)
    for name, command in group.commands.items():
        capsys.readouterr()
        assert main([name, "--help"]) == 0, name
        text = capsys.readouterr().out
        assert all(len(line) <= 80 for line in text.splitlines()), (name, text)
        assert "<bool>" not in text and "<list[" not in text and "{" not in text, (name, text)
        flat = " ".join(text.split())
        for param in command.params:
            if getattr(param, "help", None):
                assert " ".join(param.help.split()) in flat, (name, param.help)
    assert main(["--help"]) == 0 and "compress" in capsys.readouterr().out


def test_bench_without_its_extra_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    """scikit-image and matplotlib are the bench extra: compress works without them, bench says what to install."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real(name, *a))
    assert main(["bench", str(tmp_path), "-o", str(tmp_path / "eval")]) == 2
    assert capsys.readouterr().err == (
        "error: segpress bench needs the bench extra: pip install 'segpress[bench]' (skimage is missing)\n"
    )


def test_version_and_help_load_no_codec_library_or_scipy():
    """Start-up: `segpress --version` and `compress --help` import no SciPy, onnxruntime, imagecodecs,
    scikit-image or matplotlib (they load with the command that needs them)."""
    import subprocess
    import sys

    code = ("import sys; from segpress.cli import main; main(['compress', '--help']); "
            "print(sorted(m for m in ('scipy', 'onnxruntime', 'imagecodecs', 'skimage', 'matplotlib', 'jpeglib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().endswith("[]"), done.stdout[-300:]
