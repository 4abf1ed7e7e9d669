"""The text student's training: pictures and their cores, the network, the loss, fit/resume and export.

Backgrounds are scikit-image photos written to a temporary folder; fonts are matplotlib's (the Debian
fonts the real training uses may be missing on a clean machine).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

torch = pytest.importorskip("torch")

from segpress.text import TextDetector, TextNetwork  # noqa: E402
from segpress.train.textstudent import scenes  # noqa: E402
from segpress.train.textstudent.fit import FitSettings, export, fit, loss  # noqa: E402
from segpress.train.textstudent.network import TextStudent  # noqa: E402


@pytest.fixture(scope="module")
def fonts() -> list[Path]:
    return sorted((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("DejaVuSans*.ttf"))


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory) -> scenes.Backgrounds:
    folder = tmp_path_factory.mktemp("backgrounds")
    for name in ("chelsea", "coffee", "rocket"):
        Image.fromarray(getattr(skdata, name)()).save(folder / f"{name}.png")
    paths = scenes.background_paths([folder])
    return scenes.Backgrounds(paths, {})


def test_training_fonts_name_their_packages_when_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(scenes, "FONT_FOLDERS", (str(tmp_path),))
    with pytest.raises(RuntimeError, match="apt-get install -y fonts-liberation"):
        scenes.training_fonts()


def test_pictures_come_from_their_seed_with_the_cores_of_their_lines(backgrounds, fonts):
    first, again = scenes.render(7, backgrounds, fonts), scenes.render(7, backgrounds, fonts)
    assert np.array_equal(first.pixels, again.pixels) and np.array_equal(first.label, again.label)
    assert first.pixels.shape == (scenes.CROP, scenes.CROP, 3) and first.pixels.dtype == np.uint8
    drawn = [scenes.render(seed, backgrounds, fonts) for seed in range(12)]
    assert all(set(np.unique(sample.label)) <= {0, 1} for sample in drawn)  # no ignore masks given
    cores = [float((sample.label == 1).mean()) for sample in drawn]
    assert sum(share > 0 for share in cores) >= 8 and max(cores) < 0.3  # most pictures hold lines; cores are thin


def test_text_the_teacher_found_carries_no_loss(backgrounds, fonts):
    marked = {str(path): np.ones(Image.open(path).size[::-1], bool) for path in backgrounds.paths}
    sample = scenes.render(3, scenes.Backgrounds(backgrounds.paths, marked), fonts)
    assert set(np.unique(sample.label)) <= {1, scenes.IGNORE} and (sample.label == scenes.IGNORE).any()


def test_the_loss_ignores_ignored_pixels_and_rewards_the_cores():
    labels = torch.zeros(1, 32, 32, dtype=torch.int64)
    labels[0, 10:14, 4:28] = 1
    labels[0, 20:, :] = scenes.IGNORE
    logits = torch.full((1, 32, 32), -4.0)
    logits[0, 10:14, 4:28] = 4.0
    good = loss(logits, labels)
    changed = logits.clone()
    changed[0, 20:, :] = 9.0  # "text" where nothing is known
    assert torch.isclose(loss(changed, labels), good)
    assert loss(-logits, labels) > good


def test_the_student_loads_imagenet_weights_and_answers_at_the_input_size():
    model = TextStudent(pretrained=True).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 96))
    assert out.shape == (1, 1, 64, 96) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_fit_resumes_and_exports_an_int8_detector(tmp_path, backgrounds, fonts):
    said = []
    settings = FitSettings(minutes=0.03, batch=2, checkpoint_every=1)
    checkpoint = fit(tmp_path, backgrounds, fonts, settings, said.append)
    first = torch.load(checkpoint, weights_only=False)["step"]
    assert first >= 1 and said[-1].startswith("done")
    fit(tmp_path, backgrounds, fonts, FitSettings(minutes=0.06, batch=2, checkpoint_every=1), said.append)
    assert any(line.startswith(f"resumed at step {first}") for line in said)
    onnx_file = tmp_path / "text-detector.onnx"
    export(checkpoint, onnx_file, {"scale": 1.0, "threshold": 0.3, "unclip_ratio": 1.5}, {"note": "test"})
    metadata = json.loads(onnx_file.with_suffix(".json").read_text())
    assert metadata["precision"] == "int8" and metadata["training"]["note"] == "test"
    assert metadata["training"]["steps"] > first
    detector = TextDetector(TextNetwork("test student", onnx_file, **metadata["detection"]))
    found = detector.detect(np.ascontiguousarray(skdata.astronaut()))
    assert found.regions.shape == (512, 512)
