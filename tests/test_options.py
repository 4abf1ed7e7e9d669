"""segpress.options: the compress options, defined once, reach every front end made from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from PIL import Image

import segpress
from segpress import api, batch, codecs
from segpress.batch.settings import BATCH_DEFAULTS, job_settings
from segpress.cli import app, main
from segpress.errors import OptionError, SegpressError
from segpress.options import CompressOptions

FIELDS = dataclasses.fields(CompressOptions)


def other_value(field: dataclasses.Field[Any], default: Any) -> Any:
    """A valid value of ``field`` that is not ``default`` (a new option's type may need a line here)."""
    if "choices" in field.metadata:
        return next(choice for choice in field.metadata["choices"] if choice != default)
    if field.name == "format":
        return next(name for name in codecs.available_names() if name != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default - 1
    return {"target_size": "40KB", "effort": 3, "scene_fidelity": 0.9}.get(field.name, 2.0)  # the options without a default value


def command_line(command: str, field: dataclasses.Field[Any], value: Any) -> list[str]:
    """The arguments that set ``field`` to ``value`` on ``command``."""
    (option,) = [p for p in typer.main.get_command(app).commands[command].params if p.name == field.name]
    if isinstance(value, bool):
        return [option.opts[0] if value else option.secondary_opts[0]]
    return [option.opts[0], str(value)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    Image.fromarray(np.full((16, 24, 3), 120, np.uint8)).save(folder / "photo.png")
    masks = folder / "masks"
    masks.mkdir()
    Image.fromarray(np.full((16, 24), 255, np.uint8)).save(masks / "photo.png")
    return folder / "photo.png", masks


class Stop(SegpressError):
    """Raised where the options were handed on: the test has what it came for."""


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field.name)
def test_every_option_reaches_every_front_end(field, inputs, tmp_path, monkeypatch, capsys):
    value = other_value(field, field.default)
    expected = getattr(CompressOptions(**{field.name: value}), field.name)
    image, masks = inputs
    # The Python API
    assert getattr(CompressOptions.of(**{field.name: value}), field.name) == expected
    # segpress compress
    seen: dict[str, Any] = {}

    def compress(*args: Any, options: CompressOptions, **kwargs: Any) -> None:
        seen["compress"] = options
        raise Stop("stop")

    monkeypatch.setattr(api, "compress", compress)
    output = tmp_path / f"out{codecs.get(value if field.name == 'format' else 'jpeg').extensions[0]}"
    main(["compress", str(image), "--mask", str(masks / "photo.png"), "-o", str(output),
          *command_line("compress", field, value)])
    assert getattr(seen["compress"], field.name) == expected, capsys.readouterr().err
    # segpress batch, and what its fingerprint hashes
    def run_batch(source: str, destination: str, settings: batch.JobSettings, **kwargs: Any) -> None:
        seen["batch"] = settings
        raise Stop("stop")

    monkeypatch.setattr(batch, "run_batch", run_batch)
    value = other_value(field, BATCH_DEFAULTS.get(field.name, field.default))
    expected = getattr(CompressOptions(**{field.name: value}), field.name)
    main(["batch", str(image.parent), str(tmp_path / "out"), "--mask", str(masks), *command_line("batch", field, value)])
    assert getattr(seen["batch"].options, field.name) == expected, capsys.readouterr().err
    plain = job_settings(mask=str(masks))
    assert field.name in plain.values() and seen["batch"].fingerprint() != plain.fingerprint()
    # The server's form and JSON body, unless the server sets it itself
    server_schemas = pytest.importorskip("segpress.server.schemas")
    served = server_schemas.CompressUpload.model_fields
    assert (field.name in served) is field.metadata["server"]
    if field.metadata["server"]:
        assert field.name in server_schemas.PageCompressOptions.model_fields
        assert served[field.name].description == field.metadata["doc"]


def test_options_are_checked_and_normalised_when_made():
    options = CompressOptions(format="WEBP", target_size="40KB", roi_quality=90.0)
    assert (options.format, options.target_size, options.roi_quality) == ("webp", 40_000, 90)
    assert segpress.CompressOptions is CompressOptions
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.format = "jpeg"  # type: ignore[misc]
    for changes, message in (({"roi_quality": 0}, "roi quality must be within 1..100"),
                             ({"bg_quality": 95}, "background quality 95 is above roi quality 90"),
                             ({"margin": -1.0}, "margin must be a non-negative length"),
                             ({"max_pixels": 0}, "--max-pixels must be at least 1")):
        with pytest.raises(OptionError, match=message):
            CompressOptions.of(options, **changes)
    with pytest.raises(TypeError, match="qualty"):
        CompressOptions(qualty=80)  # type: ignore[call-arg]


def test_effort_reaches_the_encoders_that_have_one():
    """--effort: 7 is each encoder's default; 1 and 9 change WebP, AVIF and JPEG XL files, not JPEG."""
    from skimage import data as skdata

    pixels = np.ascontiguousarray(skdata.astronaut()[:96, :128])
    importance = np.zeros(pixels.shape[:2], np.float32)
    importance[20:60, 30:90] = 1
    for name in ("webp", "avif", "jxl-pixels", "jpeg"):
        if name not in codecs.available_names():
            continue
        files = {effort: api.compress(pixels, importance=importance, format=name, effort=effort, compare=False).data
                 for effort in (1, 7, None, 9)}
        assert files[7] == files[None], name
        assert (files[1] == files[9]) is (name == "jpeg"), name
    for bad in (0, 10, 2.5, True):
        with pytest.raises(OptionError, match="effort must be a whole number within 1..9"):
            CompressOptions(effort=bad)
