"""Export a trained checkpoint to ONNX, with its metadata in a JSON file beside it.

    best.pt ─ build_model + state dict ─ torch.onnx.export (opset 17, dynamic N, H, W) ─ segmenter.onnx
                                       └─ onnxruntime vs torch check ─ metadata ──────── segmenter.json

The ONNX file is what segpress runs at inference (onnxruntime, no torch); the JSON says how to feed
it (classes, normalisation, training input size) and what it may be used for (training metrics, the
command that made it, the terms of the data it learned from).

The TorchScript-based exporter (``dynamo=False``) is used on purpose: it writes opset 17 directly,
in about a second, and needs no onnxscript; torch's newer exporter insists on opset 18 for this model.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segpress.errors import OutputError
from segpress.imageio import atomic_write
from segpress.taxonomy import CLASSES, UNLABELLED
from segpress.train.data import IMAGENET_MEAN, IMAGENET_STD
from segpress.train.model import build_model, count_macs
from segpress.train.quantize import label_agreement, quantize

OPSET = 17
MODEL_NAME = "segpress-lraspp-mobilenetv2"
MAX_ABS_DIFF = 1e-3  # onnxruntime and torch logits must agree this well, or the export is refused
# Terms of each dataset format a model can learn from, as their distributors state them.
DATA_TERMS = {
    "camvid": "CamVid (Brostow et al., 2008), 11-class 480x360 version of the SegNet tutorial: "
              "CC BY-NC 4.0, personal and research use",
    "msrc": "MSRC object recognition database v2 (Microsoft Research Cambridge), cleaned "
            "segmentations of Malisiewicz & Efros (2007): research use",
    "folder": "user-supplied data: the terms its owner gives",
    "photos": "unlabelled photos taught by three Apache-2.0 teacher networks (MOSAIC R4 from mlcommons/mobile_open, "
              "DeepLabV3-MobileNetV2 Pascal VOC from google-coral/test_data, MediaPipe selfie segmentation from "
              "mediapipe 0.10.21); photo sets and their terms: BSDS500 (Corel photos, non-commercial research and "
              "education), Urban100 and Sun-Hays 80 (no terms found: research use assumed), CQ100 (CC BY-SA 4.0 and "
              "other CC licences, per-image attribution), DAVIS 2016 (CC BY 4.0), a 1,000-image ImageNet sample "
              "(ImageNet terms: non-commercial research and education)",
}


def export_checkpoint(
    checkpoint: str | Path, onnx_path: str | Path, *, overwrite: bool = False,
    int8_calibration: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Export ``best.pt`` (or ``last.pt``) of a training run; returns the metadata it wrote."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = build_model(len(CLASSES), pretrained=False)
    model.load_state_dict(state["model"])
    return export(model, onnx_path, training=state, overwrite=overwrite, int8_calibration=int8_calibration)


def export(
    model: nn.Module, onnx_path: str | Path, *, training: dict[str, Any], overwrite: bool = False,
    int8_calibration: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Write ``model`` as ONNX to ``onnx_path`` and its metadata to the same name with ``.json``.

    ``training`` is a checkpoint's contents: ``config`` (a TrainConfig dict), ``record`` (the epoch's
    metrics) and ``command``. With ``int8_calibration`` (training images) the file written is the
    int8 network (``segpress.train.quantize``), checked against the float32 one it came from.
    """
    onnx_path = Path(onnx_path)
    model.eval()
    config = training["config"]
    height, width = config["crop_size"]
    data = to_onnx(model, height, width)
    max_diff = max(compare_onnx(model, data, shape=shape) for shape in ((1, 3, height, width), (2, 3, 97, 131)))
    if max_diff > MAX_ABS_DIFF:
        raise OutputError(f"{onnx_path}: onnxruntime's logits differ from torch's by {max_diff:.2g}; not exported")
    precision = {"precision": "float32"}
    if int8_calibration is not None:
        int8 = quantize(data, int8_calibration)
        precision = {
            "precision": "int8",
            "int8": {
                "method": "onnxruntime quantize_static, QOperator, per-channel int8 weights, uint8 activations, MinMax",
                "calibration_images": len(int8_calibration),
                "label_agreement_with_float32": round(label_agreement(data, int8, int8_calibration), 4),
                "float32_sha256": hashlib.sha256(data).hexdigest(),
            },
        }
        data = int8
    metadata = {**_metadata(model, onnx_path.name, data, training, max_diff), **precision}
    atomic_write(onnx_path, data, overwrite=overwrite)
    atomic_write(onnx_path.with_suffix(".json"), (json.dumps(metadata, indent=2) + "\n").encode(), overwrite=overwrite)
    return metadata


def compare_onnx(model: nn.Module, onnx_model: bytes | str | Path, *, shape: tuple[int, int, int, int]) -> float:
    """Largest absolute difference between onnxruntime's and torch's logits on a random input."""
    import onnxruntime

    source = str(onnx_model) if isinstance(onnx_model, Path) else onnx_model
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (ours,) = session.run(None, {"image": images})
    with torch.inference_mode():
        reference = model.eval()(torch.from_numpy(images)).numpy()
    return float(np.abs(ours - reference).max())


def to_onnx(model: nn.Module, height: int, width: int, *, input_name: str = "image", output_name: str = "logits") -> bytes:
    """``model`` as ONNX bytes (opset OPSET), any batch and any height and width."""
    axes = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The legacy exporter is chosen knowingly (see the module docstring); its deprecation notices are noise.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (torch.zeros(1, 3, height, width),), buffer, dynamo=False, opset_version=OPSET,
            input_names=[input_name], output_names=[output_name], dynamic_axes={input_name: axes, output_name: axes},
        )
    return buffer.getvalue()


def _metadata(
    model: nn.Module, file_name: str, data: bytes, training: dict[str, Any], max_diff: float
) -> dict[str, Any]:
    config, record = training["config"], training["record"]
    formats = dict.fromkeys(spec["format"] for spec in config["train_data"])
    return {
        "name": MODEL_NAME,
        "architecture": "LR-ASPP head on MobileNetV2 (output stride 16, ImageNet-initialised backbone)",
        "file": file_name,
        "file_size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "opset": OPSET,
        "categories": list(CLASSES),
        "ignore_index": UNLABELLED,
        "input": {
            "name": "image",
            "layout": "NCHW float32 RGB, dynamic batch, height and width",
            "normalisation": "pixel / 255, then (value - mean) / std per channel",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "training_crop_size": list(config["crop_size"]),
            "training_scale_range": list(config["scale_range"]),
        },
        "output": {"name": "logits", "layout": "NCHW float32 class scores at the input's height and width"},
        "num_params": sum(p.numel() for p in model.parameters()),
        "gmacs_480x360": round(count_macs(model, height=360, width=480) / 1e9, 3),
        "metrics": {
            "epoch": record["epoch"],
            "miou": record["miou"],  # the mean over the val datasets
            "miou_classes": "each dataset's mIoU averages the taxonomy classes its labels contain",
            "val": {
                name: {key: metrics[key] for key in ("miou", "pixel_accuracy", "iou")}
                for name, metrics in record["val"].items()
            },
        },
        "training": {"command": training.get("command"), "config": config, "torch": torch.__version__,
                     **({"notes": training["notes"]} if training.get("notes") else {})},
        "onnx_max_abs_diff": max_diff,
        "data_terms": [DATA_TERMS[fmt] for fmt in formats],
    }
