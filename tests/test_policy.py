from pathlib import Path

import numpy as np
import pytest

from segpress.errors import OptionError
from segpress.policy import PRESETS, Policy, available_policies, load_policy
from segpress.taxonomy import CLASSES


def test_presets_ship_and_are_listed():
    assert available_policies() == ["default", "people", "text", "traffic"]
    assert set(PRESETS) == {"default", "people", "text", "traffic"}
    for name, policy in PRESETS.items():
        assert policy.name == name and policy.description
        assert load_policy(name) is policy


def test_default_preset_weights():
    expected = {
        "person": 1, "bicycle": 1, "vehicle": 1, "sign": 1, "animal": 1, "object": 0.6, "pole": 0.3,
        "building": 0.2, "fence": 0.2, "pavement": 0.1, "terrain": 0.1, "water": 0.1,
        "vegetation": 0.05, "road": 0, "sky": 0, "furniture": 0.1, "interior": 0,
    }
    vector = PRESETS["default"].weight_vector(CLASSES)
    assert vector.dtype == np.float32
    assert vector.tolist() == pytest.approx([expected[c] for c in CLASSES])


@pytest.mark.parametrize(
    ("name", "nonzero"),
    [
        ("traffic", {"vehicle": 1, "person": 1, "bicycle": 1, "sign": 1, "pole": 0.3}),
        ("people", {"person": 1, "bicycle": 0.5, "animal": 0.3}),
    ],
)
def test_focused_presets_weights(name, nonzero):
    vector = PRESETS[name].weight_vector(CLASSES)
    assert vector.tolist() == pytest.approx([nonzero.get(c, 0.0) for c in CLASSES])


def test_weight_vector_follows_the_given_order_and_default():
    policy = Policy(name="p", weights={"person": 1.0, "sky": 0.0}, default=0.25)
    assert policy.weight_vector(["sky", "road", "person", "not-a-class"]).tolist() == [0.0, 0.25, 1.0, 0.25]


def test_weights_cannot_be_changed_after_construction():
    source = {"person": 1.0}
    policy = Policy(name="p", weights=source)
    source["person"] = 0.0
    assert policy.weights["person"] == 1.0
    with pytest.raises(TypeError):
        PRESETS["default"].weights["sky"] = 1.0


TOML_POLICY = """
name = "dashcam"
description = "plates and people"
default = 0.1
margin = 6
feather = 0.02
min_area = 32

[weights]
person = 1.0
vehicle = 0.8
"""

YAML_POLICY = """
name: dashcam
description: plates and people
default: 0.1
margin: 6
feather: 0.02
min_area: 32
weights:
  person: 1.0
  vehicle: 0.8
"""


@pytest.mark.parametrize(("filename", "text"), [("p.toml", TOML_POLICY), ("p.yaml", YAML_POLICY), ("p.yml", YAML_POLICY)])
def test_policy_file_formats(tmp_path, filename, text):
    path = tmp_path / filename
    path.write_text(text)
    for arg in (path, str(path)):
        policy = load_policy(arg)
        assert policy == Policy(
            name="dashcam", weights={"person": 1.0, "vehicle": 0.8}, default=0.1,
            margin=6, feather=0.02, min_area=32, description="plates and people",
        )


def test_optional_keys_default_and_name_comes_from_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[weights]\nperson = 1\n")
    policy = load_policy(path)
    assert (policy.name, policy.default, policy.margin, policy.feather, policy.min_area) == ("mine", 0.0, 4, 8, 64)
    assert policy.weights == {"person": 1.0}
    assert (policy.map_rule, policy.confidence) == ("recall", 0.5)


BAD_FILES = [
    ("unknown.toml", "[weights]\npersn = 1\n", ["persn", "sky, building"]),
    ("above.toml", "[weights]\nperson = 1.5\n", ["person", "[0, 1]"]),
    ("below.yaml", "weights: {person: -0.1}\n", ["person", "[0, 1]"]),
    ("nan.toml", "[weights]\nperson = nan\n", ["person"]),
    ("text.toml", '[weights]\nperson = "high"\n', ["person", "'high'"]),
    ("bool.yaml", "weights: {person: true}\n", ["person"]),
    ("default.toml", "default = 2\n[weights]\n", ["default"]),
    ("margin.toml", "margin = -1\n[weights]\n", ["margin", "non-negative"]),
    ("margintype.yaml", "margin: wide\nweights: {}\n", ["margin"]),
    ("name.toml", "name = 3\n[weights]\n", ["name", "string"]),
    ("weightsnum.toml", "weights = 1\n", ["weights"]),
    ("weightsnull.yaml", "weights:\n", ["weights"]),
    ("typo.toml", "weight = {person = 1}\n", ["weight'", "valid keys"]),
    ("rule.toml", 'map_rule = "max"\n[weights]\n', ["map_rule", "'max'", "expected, recall, regions"]),
    ("confidence.toml", "confidence = 0\n[weights]\n", ["confidence", "(0, 1]"]),
    ("confidencetype.yaml", "confidence: high\nweights: {}\n", ["confidence"]),
    ("noweights.toml", "name = 'x'\n", ["weights"]),
    ("list.yaml", "- person\n- 1\n", ["top level"]),
    ("empty.yaml", "", ["top level"]),
    ("broken.toml", "[weights\nperson = 1\n", ["broken.toml", "parse"]),
    ("broken.yaml", "weights: [person, 1\n", ["broken.yaml", "parse", "line"]),
    ("tabs.yaml", "weights:\n\tperson: 1\n", ["tabs.yaml", "parse"]),
    ("deep.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n[weights]\n", ["deep.toml", "nested too deeply"]),
    ("deep.yaml", "weights: {}\nx: " + "[" * 100_000 + "]" * 100_000 + "\n", ["deep.yaml", "nested too deeply"]),
]


@pytest.mark.parametrize(("filename", "text", "fragments"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_policy_files_give_one_line_option_errors(tmp_path, filename, text, fragments):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(OptionError) as err:
        load_policy(path)
    message = str(err.value)
    assert "\n" not in message
    assert filename in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("arg", "fragments"),
    [
        ("nope", ["'nope'", "default, people, text, traffic"]),
        ("policy.json", ["policy.json", ".toml"]),
        (Path("default"), ["default"]),
    ],
)
def test_unknown_policy_names(arg, fragments):
    with pytest.raises(OptionError) as err:
        load_policy(arg)
    assert "\n" not in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(OptionError, match="not found") as err:
        load_policy(tmp_path / "gone.yaml")
    assert "gone.yaml" in str(err.value)


def test_directory_is_not_a_policy_file(tmp_path):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(OptionError, match="not found"):
        load_policy(folder)


def test_undecodable_file(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b"name = '\xe9'\n[weights]\n")
    with pytest.raises(OptionError, match="latin.toml") as err:
        load_policy(path)
    assert "\n" not in str(err.value)


def test_policy_constructed_in_code_is_validated():
    with pytest.raises(OptionError, match="unknown class 'car'"):
        Policy(name="p", weights={"car": 1.0})
