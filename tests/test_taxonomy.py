import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segpress.errors import InputError
from segpress.taxonomy import (
    CAMVID_CLASSES,
    CAMVID_IGNORE,
    CAMVID_TO_TAXONOMY,
    CLASSES,
    MSRC_CLASSES,
    MSRC_IGNORE,
    MSRC_TO_TAXONOMY,
    remap_labels,
)


def test_classes_keep_their_indices_and_new_ones_come_last():
    # Label maps written before interior and furniture were added must keep their meaning.
    assert CLASSES == (
        "sky", "building", "pole", "road", "pavement", "vegetation", "sign", "fence",
        "vehicle", "person", "bicycle", "animal", "water", "terrain", "object",
        "interior", "furniture",
    )


def test_source_class_lists_match_the_datasets():
    assert len(CAMVID_CLASSES) == 11 and CAMVID_CLASSES[5] == "tree" and CAMVID_CLASSES[10] == "bicyclist"
    assert len(MSRC_CLASSES) == 23 and MSRC_CLASSES[6] == "sky" and MSRC_CLASSES[22] == "boat"
    assert CAMVID_IGNORE == (11,) and MSRC_IGNORE == (255,)


@pytest.mark.parametrize(
    ("source", "mapping"),
    [(CAMVID_CLASSES, CAMVID_TO_TAXONOMY), (MSRC_CLASSES, MSRC_TO_TAXONOMY)],
)
def test_every_source_class_maps_to_a_taxonomy_class(source, mapping):
    assert set(mapping) == set(source)
    assert set(mapping.values()) <= set(CLASSES)


@pytest.mark.parametrize(
    ("mapping", "source", "target"),
    [
        (CAMVID_TO_TAXONOMY, "tree", "vegetation"),
        (CAMVID_TO_TAXONOMY, "pedestrian", "person"),
        (CAMVID_TO_TAXONOMY, "bicyclist", "bicycle"),
        (CAMVID_TO_TAXONOMY, "sign/symbol", "sign"),
        (MSRC_TO_TAXONOMY, "flower", "vegetation"),
        (MSRC_TO_TAXONOMY, "aeroplane", "vehicle"),
        (MSRC_TO_TAXONOMY, "face", "person"),
        (MSRC_TO_TAXONOMY, "dog", "animal"),
        (MSRC_TO_TAXONOMY, "mountain", "terrain"),
        (MSRC_TO_TAXONOMY, "chair", "furniture"),
    ],
)
def test_merged_classes(mapping, source, target):
    assert mapping[source] == target


def test_remap_camvid_with_unlabelled():
    labels = np.array([[0, 5, 8], [9, 10, 11]], dtype=np.uint8)
    out = remap_labels(labels, CAMVID_CLASSES, CAMVID_TO_TAXONOMY, source_ignore=CAMVID_IGNORE)
    idx = CLASSES.index
    assert out.dtype == np.uint8
    assert out.tolist() == [
        [idx("sky"), idx("vegetation"), idx("vehicle")],
        [idx("person"), idx("bicycle"), 255],
    ]


def test_remap_msrc_void_and_custom_ignore_index():
    labels = np.array([[255, 3, 21]], dtype=np.int64)
    out = remap_labels(labels, MSRC_CLASSES, MSRC_TO_TAXONOMY, ignore_index=1000, source_ignore=MSRC_IGNORE)
    assert out.dtype == np.int32
    assert out.tolist() == [[1000, CLASSES.index("animal"), CLASSES.index("person")]]


def test_unmapped_source_class_becomes_ignore():
    mapping = {k: v for k, v in CAMVID_TO_TAXONOMY.items() if k != "fence"}
    out = remap_labels(np.array([[7, 0]]), CAMVID_CLASSES, mapping)
    assert out.tolist() == [[255, CLASSES.index("sky")]]


@pytest.mark.parametrize("bad", [11, 12, -1])
def test_value_outside_source_classes_is_an_input_error(bad):
    with pytest.raises(InputError) as err:
        remap_labels(np.array([[0, bad]]), CAMVID_CLASSES, CAMVID_TO_TAXONOMY)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_float_labels_are_an_input_error():
    with pytest.raises(InputError):
        remap_labels(np.zeros((2, 2)), CAMVID_CLASSES, CAMVID_TO_TAXONOMY)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 22)))
def test_remap_matches_per_pixel_lookup(labels):
    out = remap_labels(labels, MSRC_CLASSES, MSRC_TO_TAXONOMY)
    expected = [[CLASSES.index(MSRC_TO_TAXONOMY[MSRC_CLASSES[v]]) for v in row] for row in labels.tolist()]
    assert out.tolist() == expected
