import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segpress.errors import InputError, OptionError
from segpress.importance import (
    from_array,
    from_labels,
    from_probabilities,
    region_shares,
    shape,
)
from segpress.policy import PRESETS, Policy
from segpress.taxonomy import CLASSES

DEFAULT = PRESETS["default"]
LEVELS = [0.0, 0.05, 0.2, 0.3, 0.6, 1.0]


@st.composite
def blocky_maps(draw, max_side=40):
    """Maps made of a few rectangles at policy-like levels, as segmentation produces."""
    height, width = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    values = np.full((height, width), draw(st.sampled_from(LEVELS)), dtype=np.float32)
    for _ in range(draw(st.integers(0, 5))):
        top, left = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
        rows, cols = draw(st.integers(1, height)), draw(st.integers(1, width))
        values[top : top + rows, left : left + cols] = draw(st.sampled_from(LEVELS))
    return values


def index(name):
    return CLASSES.index(name)


# --- from_labels / from_probabilities ---------------------------------------------------------


def test_from_labels_looks_up_weights_and_defaults_out_of_range():
    policy = Policy(name="p", weights={"person": 1.0, "pole": 0.3}, default=0.1)
    labels = np.array([[index("person"), index("pole")], [index("sky"), 255]], dtype=np.uint8)
    out = from_labels(labels, CLASSES, policy)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1.0, 0.3], [0.1, 0.1]])


def test_from_labels_handles_negative_and_wide_labels():
    out = from_labels(np.array([[-1, 70000, index("person")]], dtype=np.int32), CLASSES, DEFAULT)
    assert out.tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("labels", [np.zeros((2, 2), np.float32), np.zeros((2, 2, 1), np.uint8), np.zeros(4, np.uint8)])
def test_from_labels_rejects_non_integer_or_non_2d(labels):
    with pytest.raises(InputError):
        from_labels(labels, CLASSES, DEFAULT)


@settings(max_examples=40, deadline=None)
@given(
    labels=arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16)), elements=st.integers(0, len(CLASSES) - 1)),
    policy=st.sampled_from(sorted(PRESETS.values(), key=lambda p: p.name)),
)
def test_one_hot_probabilities_equal_labels(labels, policy):
    one_hot = np.eye(len(CLASSES), dtype=np.float32)[labels].transpose(2, 0, 1)
    for rule in ("expected", "recall", "regions"):
        np.testing.assert_allclose(from_probabilities(one_hot, CLASSES, policy, rule), from_labels(labels, CLASSES, policy))


def test_expected_rule_is_the_expected_weight_clipped():
    probabilities = np.zeros((len(CLASSES), 1, 2), dtype=np.float64)
    probabilities[index("person"), 0, 0] = 0.5
    probabilities[index("pole"), 0, 0] = 0.5
    probabilities[index("person"), 0, 1] = 1.5  # badly normalised input must still give a valid map
    out = from_probabilities(probabilities, CLASSES, DEFAULT, rule="expected")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.65, 1.0]])


def column(**classes):
    """Probabilities (C, 1, n) with the given classes' rows along one line of pixels."""
    n = len(next(iter(classes.values())))
    probabilities = np.zeros((len(CLASSES), 1, n), dtype=np.float32)
    for name, row in classes.items():
        probabilities[index(name), 0] = row
    return probabilities


@pytest.mark.parametrize("rule", ["recall", "regions"])
def test_a_likely_class_counts_in_full_and_no_class_drags_another_down(rule):
    # person 0.6 + pole 0.4: the expected weight is 0.72, between the qualities; recall keeps the person.
    # person 0.4 + object 0.6 (weight 0.6): 0.8 from the person, not the 0.76 of the expected weight.
    # (A pixel of no class keeps the two apart, so the regions rule does not join them.)
    probabilities = column(person=[0.6, 0.0, 0.4, 0.2], pole=[0.4, 0.0, 0.0, 0.0], object=[0.0, 0.0, 0.6, 0.0])
    out = from_probabilities(probabilities, CLASSES, DEFAULT, rule=rule)
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.8, 0.4]], atol=1e-6)
    np.testing.assert_allclose(from_probabilities(probabilities, CLASSES, DEFAULT, rule="expected"),
                               [[0.72, 0.0, 0.76, 0.2]], atol=1e-6)


def test_regions_rule_keeps_an_object_whole_and_leaves_lone_doubts_alone():
    # A core at 0.9 reaches its uncertain edge (0.4, 0.3: at least confidence / 2) but not past a gap (0.1);
    # an uncertain blob (0.3) that touches no core stays in proportion.
    probabilities = column(person=[0.9, 0.4, 0.3, 0.1, 0.3])
    regions = from_probabilities(probabilities, CLASSES, DEFAULT, rule="regions")
    recall = from_probabilities(probabilities, CLASSES, DEFAULT, rule="recall")
    np.testing.assert_allclose(regions, [[1.0, 1.0, 1.0, 0.2, 0.6]], atol=1e-6)
    np.testing.assert_allclose(recall, [[1.0, 0.8, 0.6, 0.2, 0.6]], atol=1e-6)


def test_map_rule_and_confidence_come_from_the_policy():
    probabilities = column(person=[0.3])
    lenient = Policy("lenient", {"person": 1.0}, map_rule="recall", confidence=0.3)
    expected = Policy("expected", {"person": 1.0}, map_rule="expected")
    assert from_probabilities(probabilities, CLASSES, lenient)[0, 0] == pytest.approx(1.0)
    assert from_probabilities(probabilities, CLASSES, expected)[0, 0] == pytest.approx(0.3)
    with pytest.raises(OptionError, match="map rule"):
        from_probabilities(probabilities, CLASSES, expected, rule="max")


@pytest.mark.parametrize(
    "probabilities",
    [np.zeros((3, 4, 4)), np.zeros((4, 4)), np.full((len(CLASSES), 2, 2), np.nan)],
)
def test_from_probabilities_rejects_bad_input(probabilities):
    with pytest.raises(InputError):
        from_probabilities(probabilities, CLASSES, DEFAULT)


def test_region_shares_lists_weighted_classes_by_share():
    labels = np.full((10, 10), index("sky"), dtype=np.uint8)  # weight 0: not listed
    labels[:3] = index("building")
    labels[3:4, :5] = index("person")
    labels[9, 9] = 255
    shares = region_shares(labels, CLASSES, DEFAULT)
    assert list(shares) == ["building", "person"]
    assert shares == pytest.approx({"building": 0.3, "person": 0.05})


# --- from_array -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[True, False]]), [[1.0, 0.0]]),
        (np.array([[255, 0, 51]], np.uint8), [[1.0, 0.0, 0.2]]),
        (np.array([[65535, 0]], np.uint16), [[1.0, 0.0]]),
        (np.array([[0.25, 1.0]], np.float64), [[0.25, 1.0]]),
    ],
)
def test_from_array_scales_each_dtype(values, expected):
    out = from_array(values)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize(
    "values",
    [
        np.array([[np.nan, 0.5]]),
        np.array([[-0.1]]),
        np.array([[1.01]]),
        np.zeros((2, 2, 3)),
        np.zeros((2, 2), np.int32),
    ],
)
def test_from_array_rejects_bad_values(values):
    with pytest.raises(InputError) as err:
        from_array(values)
    assert "\n" not in str(err.value)


# --- shape: properties ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(importance=blocky_maps(), margin=st.integers(0, 6), feather=st.integers(0, 10))
def test_shaping_never_lowers_and_stays_in_range(importance, margin, feather):
    out = shape(importance, margin=margin, feather=feather)
    assert out.dtype == np.float32 and out.shape == importance.shape
    assert (out >= importance).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (out[importance == 1.0] == 1.0).all()


@settings(max_examples=20, deadline=None)
@given(importance=blocky_maps(max_side=80), margin=st.integers(30, 60), feather=st.integers(0, 60))
def test_coarse_grid_shaping_keeps_the_guarantees(importance, margin, feather):
    out = shape(importance, margin=margin, feather=feather)
    assert (out >= importance).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("length", [30_000, 300_000, 1e9])
def test_huge_margins_and_feathers_cost_what_the_image_costs(length):
    """Beyond height + width pixels a length changes nothing, so memory stays a few maps of the image's size."""
    importance = np.zeros((120, 160), np.float32)
    importance[50:60, 70:80] = 0.7
    importance[0, 0] = 0.3
    tracemalloc.start()
    try:
        grown = shape(importance, margin=length)
        ramped = shape(importance, margin=2, feather=length)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * importance.nbytes, peak
    np.testing.assert_array_equal(grown, np.float32(0.7))  # every pixel within reach of the region
    np.testing.assert_array_equal(grown, shape(importance, margin=280))  # what height + width gives
    assert (ramped >= importance).all() and ramped.max() == np.float32(0.7)
    assert ramped[55, 100] > ramped[110, 150] > 0.3  # a gentle ramp over the whole image


def test_shape_without_options_is_identity():
    importance = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    np.testing.assert_array_equal(shape(importance), importance)


@pytest.mark.parametrize("radius", [1, 3, 6, 10, 40])
def test_margin_grows_regions_by_about_the_radius(radius):
    size = 2 * radius + 61
    importance = np.zeros((size, size), np.float32)
    centre = size // 2
    importance[centre - 5 : centre + 6, centre - 5 : centre + 6] = 0.6
    out = shape(importance, margin=radius)
    # Radii over 24 px run on a 2x coarser grid: edges may move and soften by a cell or two.
    slack = 0 if radius <= 24 else 4
    # Along each axis the square grows by the radius.
    assert (out[centre] == np.float32(0.6)).sum() == pytest.approx(11 + 2 * radius, abs=2 * slack)
    # Nothing beyond the radius, even diagonally (the disk is approximated within ~10%).
    ys, xs = np.nonzero(out)
    distance = np.hypot(np.maximum(abs(ys - centre) - 5, 0), np.maximum(abs(xs - centre) - 5, 0))
    assert distance.max() <= radius * 1.1 + slack + 1
    if not slack:
        assert set(np.unique(out)) <= {0.0, np.float32(0.6)}  # no feather: a hard edge


def test_feather_ramps_down_to_the_surrounding_level():
    importance = np.full((60, 120), 0.2, np.float32)
    importance[25:35, 10:20] = 1.0
    out = shape(importance, margin=2, feather=16)
    profile = out[30, 19:60]  # from the region's right edge outwards
    assert profile[0] == 1.0 and profile[2] == 1.0  # the margin
    assert (np.diff(profile) <= 0).all()  # decays monotonically
    assert 0.2 < profile[10] < 1.0  # halfway through the ramp
    assert np.all(profile[2 + 16 + 2 :] == np.float32(0.2))  # back to the surroundings
    np.testing.assert_array_equal(out[importance == 1.0], 1.0)


def test_feather_ramp_is_close_to_euclidean():
    importance = np.zeros((61, 61), np.float32)
    importance[30, 30] = 1.0
    out = shape(importance, margin=5, feather=10)
    ys, xs = np.mgrid[:61, :61]
    exact = np.clip(1 - (np.hypot(ys - 30, xs - 30) - 5) / 10, 0, 1)
    assert np.abs(out - exact).max() < 0.2


def test_halo_of_an_important_region_spreads_over_a_less_important_one():
    # A person standing on pavement: the person's ramp must lift the pavement around it.
    importance = np.full((40, 40), 0.1, np.float32)
    importance[15:25, 15:25] = 1.0
    out = shape(importance, feather=10)
    assert out[20, 27] >= 0.65  # 3 px out of a 10 px ramp


@settings(max_examples=30, deadline=None)
@given(importance=blocky_maps(), min_area=st.integers(1, 200))
def test_min_area_only_zeroes_small_regions(importance, min_area):
    out = shape(importance, min_area=min_area)
    removed = out != importance
    assert (out[removed] == 0).all()
    assert (out[~removed] == importance[~removed]).all()


def test_min_area_removes_small_blobs_and_keeps_big_ones():
    importance = np.zeros((50, 50), np.float32)
    importance[2:5, 2:5] = 1.0  # 9 px: removed
    importance[20:30, 20:30] = 0.5  # 100 px: kept
    importance[10, 40] = importance[11, 41] = 0.3  # two diagonal pixels are one region of 2 px
    importance[40:44, 40:44] = 1.0  # 16 px ...
    importance[44:48, 44:48] = 0.2  # ... touching a 16 px one corner to corner: 32 px, kept
    out = shape(importance, min_area=20)
    assert (out[2:5, 2:5] == 0).all()
    assert out[10, 40] == 0 and out[11, 41] == 0
    assert (out[20:30, 20:30] == 0.5).all()
    assert (out[40:44, 40:44] == 1.0).all() and (out[44:48, 44:48] == np.float32(0.2)).all()


def test_min_area_runs_before_margin():
    importance = np.zeros((30, 30), np.float32)
    importance[15, 15] = 1.0
    assert not shape(importance, margin=3, min_area=4).any()


# --- shape: options ---------------------------------------------------------------------------


def test_fractional_lengths_are_relative_to_the_image():
    importance = np.zeros((100, 200), np.float32)
    importance[40:60, 90:110] = 1.0
    importance[5:8, 5:8] = 1.0
    np.testing.assert_array_equal(shape(importance, margin=0.05), shape(importance, margin=10))
    np.testing.assert_array_equal(shape(importance, feather=0.1), shape(importance, feather=20))
    np.testing.assert_array_equal(shape(importance, min_area=0.001), shape(importance, min_area=20))


@pytest.mark.parametrize("option", ["margin", "feather", "min_area"])
@pytest.mark.parametrize("value", [-1, -0.5, float("nan"), float("inf")])
def test_bad_lengths_are_option_errors(option, value):
    with pytest.raises(OptionError) as err:
        shape(np.zeros((4, 4), np.float32), **{option: value})
    assert option in str(err.value) and "\n" not in str(err.value)


def test_shape_validates_the_map():
    with pytest.raises(InputError):
        shape(np.full((4, 4), 2.0), margin=1)
    with pytest.raises(InputError):
        shape(np.zeros((4, 4, 3)), margin=1)


def test_shape_accepts_an_empty_map():
    assert shape(np.zeros((0, 5), np.float32), margin=3, feather=3, min_area=3).shape == (0, 5)


def test_shape_at_another_resolution_scales_lengths_to_the_map():
    """A map at half the image's size (a segmenter's working resolution): lengths are the image's pixels."""
    working = np.zeros((50, 60), np.float32)
    working[25, 30] = 1.0
    image_size = (100, 120)
    grown = shape(working, margin=10, image_size=image_size)  # 10 image pixels: 5 map pixels
    assert grown[25, 35] == 1 and grown[25, 36] == 0
    assert np.array_equal(shape(working, margin=10 / 120, image_size=image_size), grown)  # a fraction of the side
    # A margin under 2 image pixels stays pixels (not a fraction of the side) once scaled below 1.
    assert shape(working, margin=1.5, image_size=image_size).sum() < 10
    speck = np.zeros((50, 60), np.float32)
    speck[10:13, 10:13] = 1.0  # 9 map pixels: 36 image pixels
    assert shape(speck, min_area=32, image_size=image_size).any()
    assert not shape(speck, min_area=40, image_size=image_size).any()
