"""Random option values, good and bad, through the CLI and the HTTP API: an `error:` line or a 4xx, never a traceback.

Whatever the values (up to three options per run, any value): the CLI exits 0, 1 or 2, a failure is one
``error:`` line with no traceback and leaves no file under the output name, and the inputs keep their
bytes; the API answers 200 or a 4xx whose body is the one-line JSON error, never a 5xx.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data as skdata

from segpress.cli import main

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve]'")
from fastapi.testclient import TestClient

from segpress.server import ServerLimits, create_app

_TEXTS = ["", " ", "nan", "inf", "-inf", "1e9", "1e400", "-0", "0x10", "wide", "2%", "100%", "-1%", "0.5%",
          "8px", "0.5", "40KB", "1.5MB", "10B", "é", "[1]", '{"a": 1}']
_NUMBERS = st.one_of(st.integers(-10, 10**12), st.floats(allow_nan=True, allow_infinity=True))
_ANY_VALUE = st.one_of(st.sampled_from(_TEXTS), _NUMBERS.map(str))


def _good_or_junk(*good: str) -> st.SearchStrategy[str]:
    """Values that should work, drawn as often as any junk."""
    return st.one_of(st.sampled_from(good), _ANY_VALUE)


# Every option of compress that takes a value, with what it may be given: plausible values and junk.
_CLI_OPTIONS = {
    "--format": st.sampled_from(["jpeg", "webp", "JPEG", "gif", "png", ""]),
    "--roi-quality": _good_or_junk("90", "85", "100", "1"),
    "--bg-quality": _good_or_junk("10", "25", "1"),
    "--target-size": _good_or_junk("9KB", "6000", "4KiB", "1", "lots"),
    "--target-roi-psnr": _good_or_junk("30", "38", "0", "200"),
    "--subsampling": st.sampled_from(["4:2:0", "4:4:4", "4:1:1", ""]),
    "--policy": st.sampled_from(["default", "people", "traffic", "nosuch", "{policy}", "{broken}"]),
    "--margin": _good_or_junk("0", "4", "8px", "2%", "300000", "1e9"),
    "--feather": _good_or_junk("0", "8", "5%", "300000", "1e9"),
    "--min-area": _good_or_junk("0", "64", "1%", "1e9"),
    "--max-pixels": _good_or_junk("100000", "6144", "6143"),
    "--scene-fidelity": _good_or_junk("0.95", "0", "1"),
}
# A few options at a time, so that runs with only good values (and an output) are common too.
_SOME_CLI_OPTIONS = st.lists(st.sampled_from(sorted(_CLI_OPTIONS)), max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: _CLI_OPTIONS[name] for name in names})
)
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False),
              st.sampled_from(_TEXTS)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["person", "sky", "x"]), inner, max_size=3)),
    max_leaves=6,
)
# API fields with values that should work; any field may get any JSON value instead.
_API_GOOD = {
    "format": ["jpeg", "webp"], "policy": ["default", "people"], "weights": [{"person": 1, "sky": 0}, {}],
    "default_weight": [0, 0.5], "roi_quality": [90, 100], "bg_quality": [1, 30], "target_size": ["9KB", 6000],
    "target_roi_psnr": [35], "progressive": [True, False], "subsampling": ["4:4:4"], "margin": [0, 8, 0.02, 1e9],
    "feather": [0, 16, 1e9], "min_area": [0, 64, 1e9], "strip": [True], "keep_map": [True], "compare": [False],
    "preview": [True], "name": ["x.jpg"], "colour": ["red"],
}
_API_OPTIONS = st.lists(st.sampled_from(sorted(_API_GOOD)), max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: st.one_of(st.sampled_from(_API_GOOD[name]), _JSON_VALUES)
                                         for name in names})
)
_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A 96x64 photo, its mask, a policy file and a broken one."""
    folder = tmp_path_factory.mktemp("fuzz-inputs")
    photo = folder / "photo.png"
    Image.fromarray(np.ascontiguousarray(skdata.astronaut()[::4, ::4][:64, :96])).save(photo)
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 30:60] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    (folder / "policy.toml").write_text("margin = 2\nfeather = 3\n[weights]\nperson = 1\n")
    (folder / "broken.yaml").write_text("weights: [person, 1\n")
    return {"photo": photo, "mask": folder / "mask.png", "policy": folder / "policy.toml",
            "broken": folder / "broken.yaml"}


@_FUZZ
@given(chosen=_SOME_CLI_OPTIONS)
def test_random_cli_options_give_a_file_or_one_error_line(capsys, tmp_path, inputs, chosen):
    before = _digest(*inputs.values())
    output = tmp_path / "out.jpg"
    argv = ["compress", str(inputs["photo"]), "--mask", str(inputs["mask"]), "-o", str(output), "--no-compare",
            "--overwrite"]
    for option, value in chosen.items():
        argv += [option, {"{policy}": str(inputs["policy"]), "{broken}": str(inputs["broken"])}.get(value, value)]
    if "--format" in chosen:
        output = tmp_path / "out"  # a folder: the format names the extension
        argv[argv.index("-o") + 1] = str(output) + "/"
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    event(f"exit code {code}")  # --hypothesis-show-statistics: how many runs wrote a file
    assert code in (0, 1, 2), (argv, captured.err)
    assert "Traceback" not in captured.err + captured.out, argv
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    if code:
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, captured.err)
        assert not written, (argv, written)  # no output, no temporary file
    else:
        assert len(written) == 1 and written[0].stat().st_size > 0, (argv, written)
        written[0].unlink()
    assert _digest(*inputs.values()) == before


@pytest.fixture(scope="module")
def kept(inputs) -> tuple[TestClient, str]:
    """A test client and the id of the photo it keeps (segmented once)."""
    with TestClient(create_app(ServerLimits(max_pixels=1_000_000)), base_url="http://127.0.0.1:8000") as client:
        with open(inputs["photo"], "rb") as fh:
            image_id = client.post("/api/v1/segment", files={"file": ("photo.png", fh, "image/png")}).json()["image_id"]
        yield client, image_id


def _check_answer(response) -> None:
    event(f"status {response.status_code}")
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:300]
    if response.status_code != 200:
        body = response.json()
        assert set(body) == {"detail", "code"} and "\n" not in body["detail"], body


@_FUZZ
@given(options=_API_OPTIONS)
def test_random_api_options_give_200_or_a_json_4xx(kept, options):
    client, image_id = kept
    options.setdefault("compare", False)  # a few encodes fewer per example
    _check_answer(client.post(f"/api/v1/images/{image_id}/compress", json=options))


@_FUZZ
@given(options=_API_OPTIONS, junk=st.dictionaries(st.sampled_from(sorted(_API_GOOD)), _ANY_VALUE, max_size=1))
def test_random_form_fields_give_200_or_a_json_4xx(kept, inputs, options, junk):
    client, _ = kept
    # A form carries text: strings as they are, other values as JSON text (true, 8, {"person": 1}).
    fields = {name: value if isinstance(value, str) else json.dumps(value) for name, value in options.items()}
    fields.update(junk)
    fields.setdefault("compare", "false")
    photo = io.BytesIO(inputs["photo"].read_bytes())
    _check_answer(client.post("/api/v1/compress", files={"file": ("photo.png", photo, "image/png")}, data=fields))
