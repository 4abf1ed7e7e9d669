"""The results file's format: ``results.json``, schema ``segpress.bench/2`` (JSON Schema 2020-12).

Every run writes the schema beside its results (``results.schema.json``). The version changes when a
field changes meaning or goes away; new fields may appear within a version. Numbers that are
undefined (PSNR over an empty region, of identical pixels; a BD-rate of curves that do not overlap)
are ``null``. Units: bytes, bits per pixel, dB, seconds, milliseconds per megapixel (``*_ms_per_mp``),
SSIM and MS-SSIM in [0, 1] (``ms_ssim_roi_db``: -10 log10(1 - MS-SSIM)), BD-rates in percent
(negative: the semantic mode needs fewer bits for the same quality), mIoU and accuracy in [0, 1].

A semantic point is the file ``compress`` writes at its qualities (``settings.fallback`` true, the default):
where the fallback fired (``"fallback": true``) its figures are the uniform file's (``written_quality``) and the
region-adaptive file's own point is under ``"adaptive"``; ``"check"`` holds the comparison that decided.
With ``--no-fallback`` every semantic point is the region-adaptive file (``"fallback": null``).
"""

from __future__ import annotations

from typing import Any

# 2: semantic points are the files compress writes (the fallback to uniform), the adaptive file under "adaptive"
SCHEMA_VERSION = "segpress.bench/2"

_NUMBER = {"type": ["number", "null"]}
_REGIONS = ("whole", "roi", "background")

# One encode: its size, quality over the whole image / important region / background, and costs.
_POINT = {
    "type": "object",
    "required": ["quality", "bg_quality", "bytes", "bpp", "psnr_roi", "ms_ssim_roi", "encode_s", "decode_s"],
    "properties": {
        "quality": {"type": "integer", "description": "roi quality (semantic) or quality (uniform), 1-100"},
        "bg_quality": {"type": "integer", "description": "background quality (semantic); equals quality (uniform)"},
        "bytes": {"type": "integer", "minimum": 0},
        "bpp": {"type": "number", "description": "bits per pixel of the whole image"},
        **{f"{measure}_{region}": {**_NUMBER, "description": f"{measure.upper().replace('_', '-')} over {region}"}
           for measure in ("psnr", "ssim", "ms_ssim") for region in _REGIONS},
        "psnr_weighted": {**_NUMBER, "description": "PSNR of the squared error weighted by the judge's importance"},
        "encode_s": {"type": "number"}, "decode_s": {"type": "number"},
        "segment_s": {"type": "number", "description": "the segmenter on the decoded image"},
    },
}

_CHECK = {
    "type": "object",
    "description": "compress's comparison of the region-adaptive file with the uniform encode of its PSNR inside "
                   "the model's important region (uniform.match_uniform, uniform.fallback_file)",
    "required": ["uniform_bytes", "reached", "reaching_bytes", "seconds", "encodes"],
    "properties": {
        "uniform_bytes": {"type": "number", "description": "uniform bytes for the same PSNR inside (interpolated)"},
        "uniform_quality": _NUMBER, "reached": {"type": "boolean"},
        "reaching_bytes": {"type": ["integer", "null"],
                           "description": "the smallest whole-quality uniform file that reaches that PSNR"},
        "reaching_quality": {"type": ["integer", "null"]},
        "seconds": {"type": "number"},
        "encodes": {"type": "integer", "description": "uniform encodes the check added to the sweep's"},
    },
}

_SEMANTIC_POINT = {
    **_POINT,
    "properties": {
        **_POINT["properties"],
        "fallback": {"type": ["boolean", "null"],
                     "description": "true: the uniform file was written; false: the adaptive one kept; null: not "
                                    "checked (--no-fallback, or no important region)"},
        "written_quality": {"type": "integer", "description": "the uniform file's quality, where the fallback fired"},
        "check": _CHECK,
        "adaptive": {**_POINT, "description": "the region-adaptive file the fallback replaced"},
    },
}

_CURVE_POINT = {
    "type": "object",
    "required": ["quality", "images", "bpp"],
    "properties": {
        "quality": {"type": "integer"}, "bg_quality": {"type": "integer"}, "images": {"type": "integer"},
        "bpp": _NUMBER,
        **{key: _NUMBER for key in _POINT["properties"] if key.startswith(("psnr", "ssim", "ms_ssim"))},
        "ms_ssim_roi_db": _NUMBER,
    },
}

_BD_CELL = {
    "type": "object",
    "required": ["average_curve", "mean", "median", "images", "undefined"],
    "properties": {
        "average_curve": {**_NUMBER, "description": "BD-rate of the dataset-average curves, percent"},
        "mean": _NUMBER, "median": _NUMBER,
        "images": {"type": "integer", "description": "images with a defined per-image BD-rate"},
        "undefined": {"type": "integer"},
    },
}

_TASK_POINT = {
    "type": "object",
    "required": ["quality", "bpp", "miou_original", "pixel_accuracy_original"],
    "properties": {
        "quality": {"type": "integer"}, "bpp": _NUMBER,
        "miou_original": {"type": "number", "description": "the model on decoded vs on original images"},
        "pixel_accuracy_original": {"type": "number"},
        "miou_truth": {"type": "number", "description": "the model on decoded images vs the ground truth"},
        "pixel_accuracy_truth": {"type": "number"},
    },
}


_FALLBACK_TALLY = {
    "type": "object",
    "required": ["points", "checked", "fired", "larger_than_uniform", "saving", "saving_adaptive", "judged",
                 "judged_larger"],
    "properties": {
        "points": {"type": "integer"}, "checked": {"type": "integer"}, "fired": {"type": "integer"},
        "larger_than_uniform": {"type": "integer", "description": "files written larger than the smallest uniform "
                                                                 "file with their PSNR inside (the ground rule: 0)"},
        "above_interpolated": {"type": "integer"},
        "saving": _NUMBER, "saving_adaptive": _NUMBER,
        "judged": {"type": "integer"}, "judged_larger": {"type": "integer"},
    },
}

_EQUAL_BYTES = {
    "type": "object",
    "required": ["miou", "mode", "formats"],
    "properties": {
        "miou": {"enum": ["miou_truth", "miou_original"]}, "mode": {"type": "string"},
        "formats": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["points", "mean_difference", "min_difference", "not_below"],
            "properties": {
                "points": {"type": "array", "items": {"type": "object", "properties": {
                    "quality": {"type": "integer"}, "bpp": {"type": "number"}, "semantic": {"type": "number"},
                    "uniform": {"type": "number"}, "difference": {"type": "number"}}}},
                "mean_difference": _NUMBER, "min_difference": _NUMBER,
                "not_below": {"type": ["boolean", "null"], "description": "semantic >= uniform at every point compared"},
            }}},
    },
}


def _by_format_and_mode(item: dict[str, Any]) -> dict[str, Any]:
    modes = {"type": "object", "required": ["uniform", "semantic"],
             "properties": {"uniform": {"type": "array", "items": item}, "semantic": {"type": "array", "items": item}}}
    return {"type": "object", "additionalProperties": modes}


_IMAGE = {
    "type": "object",
    "required": ["name", "path", "sha256", "width", "height", "judge", "region_fraction", "formats"],
    "properties": {
        "name": {"type": "string"}, "path": {"type": "string"}, "sha256": {"type": "string"},
        "width": {"type": "integer"}, "height": {"type": "integer"}, "channels": {"type": "integer"},
        "labels": {"type": ["object", "null"]},
        "judge": {"enum": ["labels", "model"], "description": "where the important region came from"},
        "region_fraction": {"type": "number", "description": "share of pixels in the important region"},
        "importance_mean": {"type": "number", "description": "mean of the map the semantic mode encoded with"},
        "segment_s": {"type": "number", "description": "the segmenter on the original"},
        "ms_ssim_scales": {"type": "integer"},
        "formats": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["points", "bd_rate"],
            "properties": {
                "codec_version": {"type": "string"},
                "bd_rate": {"type": "object", "description": "semantic vs uniform of this format, this image",
                            "properties": {"psnr_roi": _NUMBER, "ms_ssim_roi_db": _NUMBER}},
                "points": {"type": "object", "required": ["uniform", "semantic"], "properties": {
                    "uniform": {"type": "array", "items": _POINT},
                    "semantic": {"type": "array", "items": _SEMANTIC_POINT}}},
            },
        }},
    },
}

_SUMMARY = {
    "type": ["object", "null"],
    "required": ["images", "images_with_region", "curves", "bd_rate", "task", "timing"],
    "properties": {
        "images": {"type": "integer"},
        "images_with_region": {"type": "integer", "description": "the images the RD curves and BD-rates use"},
        "images_without_region": {"type": "array", "items": {"type": "string"}},
        "curve_images": {"enum": ["with_region", "all"], "description": "the images the curves average over"},
        "region_fraction_mean": _NUMBER,
        "curves": {**_by_format_and_mode(_CURVE_POINT),
                   "description": "dataset-average RD curves: mean bpp and mean measures per quality"},
        "bd_rate": {"type": ["object", "null"], "description": "[metric][semantic format][uniform format]",
                    "additionalProperties": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": _BD_CELL}}},
        "bd_rate_adaptive": {"type": ["object", "null"],
                             "description": "as bd_rate, of the region-adaptive files before the fallback (null: "
                                            "--no-fallback, where bd_rate is that already)"},
        "fallback": {"type": ["object", "null"], "required": ["all", "formats"],
                     "description": "compress's fallback on the semantic sweep (summary.fallback_summary); null "
                                    "with --no-fallback",
                     "properties": {"all": _FALLBACK_TALLY, "formats": {"type": "object", "additionalProperties": {
                         "type": "object", "properties": {
                             "all": _FALLBACK_TALLY,
                             "by_quality": {"type": "object", "additionalProperties": _FALLBACK_TALLY}}}}}},
        "equal_bytes": {"type": "object", "description": "mode (semantic, adaptive) -> the model's mIoU against "
                                                         "uniform files of the same bpp (summary.equal_bytes)",
                        "additionalProperties": _EQUAL_BYTES},
        "task": {"type": "object", "required": ["ground_truth", "curves"], "properties": {
            "ground_truth": {"type": "boolean"},
            "original": {"type": ["object", "null"], "description": "the model on the originals vs the ground truth"},
            "curves": _by_format_and_mode(_TASK_POINT),
        }},
        "timing": {"type": "object"},
        "extremes": {"type": ["object", "null"]},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_VERSION,
    "title": "segpress bench results",
    "description": __doc__,
    "type": "object",
    "required": ["schema", "created", "settings", "run", "images", "failures", "notes", "summary"],
    "properties": {
        "schema": {"const": SCHEMA_VERSION},
        "created": {"type": "string", "description": "ISO 8601, UTC"},
        "machine": {"type": "object"},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "settings": {"type": "object",
                     "required": ["formats", "qualities", "bg_quality", "judge", "policy", "segmenter"],
                     "properties": {"formats": {"type": "array", "items": {"type": "string"}},
                                    "qualities": {"type": "array", "items": {"type": "integer"}},
                                    "bg_quality": {"type": "integer"},
                                    "fallback": {"type": "boolean"},
                                    "judge": {"enum": ["labels", "model"]}}},
        "run": {"type": "object", "required": ["seconds", "workers", "measured_records", "cached_records"]},
        "images": {"type": "array", "items": _IMAGE},
        "failures": {"type": "array", "items": {
            "type": "object", "required": ["path", "stage", "error"],
            "properties": {"path": {"type": "string"}, "stage": {"enum": ["input", "labels", "measure"]},
                           "error": {"type": "string"}}}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "summary": _SUMMARY,
    },
}


def schema_document() -> dict[str, Any]:
    """The JSON Schema of ``results.json``."""
    return SCHEMA
