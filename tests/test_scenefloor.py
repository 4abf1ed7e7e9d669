"""The scene floor: ``segpress.scenefloor`` and ``compress(scene_fidelity=...)``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data as skdata

import segpress
from segpress import OptionError, codecs, scenefloor
from segpress.codecs import EncodeSettings
from segpress.policy import PRESETS
from segpress.segmenters import Segmentation
from segpress.taxonomy import CLASSES, UNLABELLED

SIZE = (24, 32)


class QualityCodec:
    """Stands in for a codec: the file is the background quality, decoded as a picture of that value."""

    bg_quality_step = 1.0

    def __init__(self) -> None:
        self.encoded: list[float] = []

    def encode(self, pixels, importance, settings, metadata):
        self.encoded.append(settings.bg_quality)
        return str(settings.bg_quality).encode()

    def decode(self, data: bytes) -> np.ndarray:
        return np.full((*SIZE, 3), round(float(data)), np.uint8)


def labels_keeping(share_of: float):
    """A segment callable that keeps ``share_of(quality)`` of the reference's labels (label 0 everywhere)."""

    def segment(decoded: np.ndarray) -> np.ndarray:
        kept = round(share_of(int(decoded[0, 0, 0])) * decoded.shape[0] * decoded.shape[1])
        labels = np.ones(decoded.shape[:2], np.uint8)
        labels.reshape(-1)[:kept] = 0
        return labels

    return segment


def floor(threshold: float, share_of, **more):
    codec = QualityCodec()
    pixels = np.zeros((*SIZE, 3), np.uint8)
    chosen = scenefloor.raise_background(
        codec, pixels, np.zeros(SIZE, np.float32), EncodeSettings(85, 25), segment=labels_keeping(share_of),
        reference=np.zeros(SIZE, np.uint8), threshold=threshold, **more)
    return chosen, codec


def test_the_floor_raises_the_background_to_the_lowest_quality_that_holds_it():
    chosen, codec = floor(0.6, lambda quality: quality / 100)
    assert 60 <= chosen.settings.bg_quality <= 64 and chosen.reached  # within the bisection's resolution
    assert chosen.agreement >= 0.6 and chosen.data == str(chosen.settings.bg_quality).encode()
    assert chosen.probes <= scenefloor.MAX_PROBES + 1 and len(codec.encoded) == chosen.probes
    assert isinstance(chosen.settings.bg_quality, int) and chosen.settings.roi_quality == 85


def test_a_floor_already_held_costs_one_segmentation_and_no_encode():
    chosen, codec = floor(0.2, lambda quality: quality / 100, first=b"25")
    assert (chosen.settings.bg_quality, chosen.probes, codec.encoded, chosen.data) == (25, 1, [], b"25")


def test_a_floor_out_of_reach_gives_the_roi_quality_and_says_so():
    chosen, _ = floor(0.95, lambda quality: min(quality / 100, 0.9))
    assert chosen.settings.bg_quality == 85 and not chosen.reached and chosen.agreement == pytest.approx(0.85, abs=0.01)


def test_a_ceiling_only_measures():
    chosen, codec = floor(0.6, lambda quality: quality / 100, ceiling=25)
    assert (chosen.settings.bg_quality, codec.encoded, chosen.reached) == (25, [25], False)


def test_agreement_counts_only_confident_pixels():
    probabilities = np.zeros((len(CLASSES), 2, 2), np.float32)
    probabilities[0] = [[0.9, 0.6], [0.8, 0.1]]
    probabilities[1] = [[0.1, 0.4], [0.2, 0.9]]
    reference = scenefloor.reference_labels(Segmentation(probabilities, 4, 4, model="test"))
    np.testing.assert_array_equal(reference, [[0, UNLABELLED], [0, 1]])
    assert scenefloor.agreement(np.array([[0, 1], [1, 1]], np.uint8), reference) == pytest.approx(2 / 3)
    assert scenefloor.agreement(np.zeros((2, 2), np.uint8), np.full((2, 2), UNLABELLED, np.uint8)) == 1.0


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[::4, ::4])  # 128x128


@pytest.mark.parametrize("name", codecs.names())
def test_every_codec_reports_the_floor(street, codec, name):
    """With the shipped network: the background quality stays within [25, roi] and the result says what
    the floor asked and reached; the fallback still decides after it."""
    off = segpress.compress(street, format=name, scene_fidelity=0)
    on = segpress.compress(street, format=name, scene_fidelity=0.99)
    assert off.scene_fidelity is None and off.scene_agreement is None
    assert on.scene_fidelity == 0.99 and 0 <= on.scene_agreement <= 1 and on.scene_seconds > 0
    assert 25 <= on.scene_bg_quality <= 85
    if not on.fallback:
        assert on.bg_quality == on.scene_bg_quality
    raised = on.scene_bg_quality > 25
    assert raised == any(note.startswith("scene floor 0.99: background quality raised") for note in on.notes)
    summary = json.loads(json.dumps(on.summary(), allow_nan=False))
    assert summary["scene_agreement"] == pytest.approx(on.scene_agreement)


def test_under_a_byte_budget_the_floor_is_measured_not_met(street):
    budget = segpress.compress(street, scene_fidelity=0, compare=False).size
    result = segpress.compress(street, target_size=budget, scene_fidelity=1.0, compare=False)
    assert result.size <= budget and result.scene_bg_quality == result.bg_quality
    if result.scene_agreement < 1:
        assert any("not met within the byte budget" in note for note in result.notes)


def test_the_policy_default_applies_to_maps_the_network_made(street):
    strict = PRESETS["default"].__class__(**{**PRESETS["default"].__dict__, "name": "strict", "scene_fidelity": 0.5})
    assert segpress.compress(street, policy=strict).scene_fidelity == 0.5
    assert segpress.compress(street, policy=strict, scene_fidelity=0).scene_fidelity is None
    mask = np.zeros(street.shape[:2], bool)
    mask[40:80, 40:80] = True
    assert segpress.compress(street, importance=mask, policy=strict).scene_fidelity is None
    assert segpress.compress(street, importance=mask, scene_fidelity=0.5).scene_fidelity == 0.5


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), True, "high"])
def test_a_scene_fidelity_outside_0_to_1_is_refused(bad):
    with pytest.raises(OptionError, match="scene fidelity must be a share of pixels within 0..1"):
        segpress.CompressOptions(scene_fidelity=bad)
