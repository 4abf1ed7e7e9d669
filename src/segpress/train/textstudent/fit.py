"""Training the text student on freshly drawn pictures, for a time budget, resumable; and its export.

The loss is PP-OCR DB's for its probability map: binary cross-entropy over the cores and the hardest
negatives (three per positive pixel, OHEM), plus a Dice loss over the whole picture; pixels marked
IGNORE carry none. The learning rate follows a cosine over the *time* budget (``minutes``), so a run
stopped and resumed keeps its schedule: the checkpoint records the minutes spent.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from segpress.imageio import atomic_write
from segpress.train.loop import save_checkpoint

from .network import TextStudent
from .scenes import CROP, IGNORE, Backgrounds, render

NEGATIVES_PER_POSITIVE = 3


@dataclass
class FitSettings:
    minutes: float = 70.0
    batch: int = 12
    lr: float = 1e-3
    weight_decay: float = 1e-4
    threads: int = 2
    seed: int = 0
    checkpoint_every: int = 100  # steps


class Pictures(IterableDataset):
    """An endless stream of training pictures; seeds continue where a resumed run left off."""

    def __init__(self, backgrounds: Backgrounds, fonts: list[Path], first_seed: int) -> None:
        self.backgrounds, self.fonts, self.first_seed = backgrounds, fonts, first_seed

    def __iter__(self):
        info = get_worker_info()
        seed, step = self.first_seed + (info.id if info else 0), (info.num_workers if info else 1)
        while True:
            sample = render(seed, self.backgrounds, self.fonts)
            yield torch.from_numpy(sample.pixels.copy()), torch.from_numpy(sample.label.astype(np.int64))
            seed += step


def network_input(pixels: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> the network's input: BGR planes in [-1, 1] (see segpress.text.network)."""
    return pixels.permute(0, 3, 1, 2).flip(1).float() * (2 / 255) - 1


def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """OHEM binary cross-entropy plus Dice, on full-size logits (N, H, W) and labels (N, H, W)."""
    valid = labels != IGNORE
    target = (labels == 1).float()
    each = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    positive = valid & (labels == 1)
    negative_losses = each[valid & (labels == 0)]
    keep = min(negative_losses.numel(), max(NEGATIVES_PER_POSITIVE * int(positive.sum()), 4096))
    hardest = negative_losses.topk(keep).values if keep else negative_losses[:0]
    bce = (each[positive].sum() + hardest.sum()) / max(1, int(positive.sum()) + keep)
    probability = torch.sigmoid(logits) * valid
    dice = 1 - (2 * (probability * target).sum() + 1) / (probability.sum() + (target * valid).sum() + 1)
    return bce + dice


def fit(out: Path, backgrounds: Backgrounds, fonts: list[Path], settings: FitSettings, log) -> Path:
    """Train into ``out`` (``last.pt``, resumed when there) until ``settings.minutes`` are spent."""
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    model = TextStudent(pretrained=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    checkpoint_file = out / "last.pt"
    spent, step = 0.0, 0
    if checkpoint_file.is_file():
        state = torch.load(checkpoint_file, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        spent, step = state["minutes"], state["step"]
        log(f"resumed at step {step}, {spent:.1f} of {settings.minutes} minutes spent")
    stream = DataLoader(Pictures(backgrounds, fonts, settings.seed * 10**8 + step * settings.batch),
                        batch_size=settings.batch, num_workers=1, persistent_workers=True, prefetch_factor=4)
    model.train()
    started, running = time.monotonic() - spent * 60, []
    for pixels, labels in stream:
        minutes = (time.monotonic() - started) / 60
        if minutes >= settings.minutes:
            break
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * 0.5 * (1 + math.cos(math.pi * minutes / settings.minutes))
        logits = F.interpolate(model.logits(network_input(pixels)), size=(CROP, CROP), mode="bilinear", align_corners=False)
        value = loss(logits[:, 0], labels)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        step += 1
        running.append(value.item())
        if step % settings.checkpoint_every == 0:
            save_checkpoint(checkpoint_file, _checkpoint(model, optimizer, minutes, step, settings))
            log(f"step {step} minutes {minutes:.1f} loss {np.mean(running):.4f} lr {optimizer.param_groups[0]['lr']:.2e}")
            running = []
    save_checkpoint(checkpoint_file, _checkpoint(model, optimizer, settings.minutes, step, settings))
    log(f"done: {step} steps, {step * settings.batch} pictures")
    return checkpoint_file


def _checkpoint(model, optimizer, minutes: float, step: int, settings: FitSettings) -> dict:
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "minutes": minutes, "step": step,
            "settings": asdict(settings)}


def export(checkpoint: Path, onnx_file: Path, detection: dict[str, float], training: dict) -> None:
    """The student as int8 ONNX (any input whose sides are multiples of 32) and its metadata beside it.

    int8 because it runs 2.6 times faster than float32 on these CPUs and found the same lines of the
    choosing scenes (see the model's JSON); calibrated as the PP-OCR build (``calibration_inputs``)."""
    from segpress.segmenters.onnx import quantize_int8
    from segpress.text.models import calibration_inputs
    from segpress.train.export import to_onnx

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = TextStudent(pretrained=False)
    model.load_state_dict(state["model"])
    model.eval()
    built = quantize_int8(to_onnx(model, 320, 320, input_name="x", output_name="probability"),
                          calibration_inputs(detection["scale"]), opset=17)
    metadata = {"name": "segpress text student (int8)", "detection": detection, "precision": "int8",
                "training": {**training, "steps": state["step"], "minutes": round(state["minutes"], 1)}}
    atomic_write(onnx_file, built, overwrite=True)
    atomic_write(onnx_file.with_suffix(".json"), (json.dumps(metadata, indent=2) + "\n").encode(), overwrite=True)
