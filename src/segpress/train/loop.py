"""Training and evaluation of the segmenter.

    config ─ datasets (preloaded) ─┬─ TrainTransform ─ steps ─ model ─ weighted cross-entropy ─ AdamW, poly LR
           taught photos (cached) ─┤        (+ photos)         + distill_weight x soft cross-entropy
                                   └─ each epoch: evaluate on every val dataset ─ log.jsonl, last.pt, best.pt

Labelled datasets teach with their labels (cross-entropy, ENet class weights); photos of the config's
``[teach]`` table teach with the teachers' soft targets (``segpress.train.teachers``), pixels without
a target costing nothing. A val dataset of photos scores the student against the combined
teacher's labels on the held-out tenth. Runs on a GPU when torch sees one (bfloat16 autocast there).

Determinism: the model is initialised from ``seed``; the epoch's sample order comes from a generator
seeded by (seed, epoch) and each sample's augmentation from one seeded by (seed, epoch, index). No
random state therefore carries over from one epoch to the next except the model, optimiser and
schedule, all of which ``last.pt`` holds: resuming from it reproduces the uninterrupted run.

Files in ``output_dir``:

- ``last.pt``: model, optimiser, scheduler, completed epochs, torch RNG state, best mIoU so far, the
  epoch's record and the config; rewritten atomically (temporary file + rename) after every epoch.
- ``best.pt``: the model of the epoch with the highest mean val mIoU, its record and the config.
- ``log.jsonl``: one JSON record per epoch (train loss, learning rate, seconds, per-dataset val
  metrics), appended after the checkpoints are safe; a crash between the two loses that line only.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn

from segpress.datasets import READERS, Sample, SegmentationDataset, concatenate
from segpress.errors import OptionError
from segpress.evaluation import confusion_matrix, metrics_from_confusion
from segpress.imageio import atomic_write
from segpress.taxonomy import CLASSES, UNLABELLED
from segpress.train.config import PHOTOS_FORMAT, DatasetSpec, TrainConfig
from segpress.train.data import TrainTransform, normalise
from segpress.train.model import build_model
from segpress.train.photos import TaughtPhoto, read_taught_photos, teacher_labels
from segpress.train.steps import EpochSteps, Step, soft_cross_entropy, steps_per_epoch

LAST = "last.pt"
BEST = "best.pt"
LOG = "log.jsonl"
POLY_POWER = 0.9  # the usual "poly" schedule exponent (DeepLab)


def train(config: TrainConfig, *, validate: bool = True) -> dict[str, Any]:
    """Train as ``config`` says; returns the last epoch's record plus ``best_miou`` and ``best_epoch``.

    ``validate=False`` skips the per-epoch evaluation (a run on a machine without the val data):
    every epoch then counts as the best, so ``best.pt`` is the last epoch's model.
    """
    torch.set_num_threads(config.threads)
    last_path = config.output_dir / LAST
    if last_path.exists() and not config.resume:
        raise OptionError(
            f"{config.output_dir} already holds a run ({LAST}); set resume = true or use another output_dir"
        )
    labelled = [spec for spec in config.train_data if spec.format != PHOTOS_FORMAT]
    train_set = concatenate([open_dataset(spec, config) for spec in labelled])
    photos = [p for spec in config.train_data if spec.format == PHOTOS_FORMAT for p in open_photos(spec, config)]
    val_sets = [open_dataset(spec, config) for spec in config.val_data] if validate else []
    _check_datasets(config, train_set, val_sets)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps = steps_per_epoch(len(train_set), len(photos), config.batch_size)
    run = _Run.start(config, steps_per_epoch=steps, device=device)
    if config.resume and last_path.exists():
        run.restore(_resume_state(last_path, config))
    weights = class_weights(train_set, config.class_weighting).to(device)
    criterion = nn.CrossEntropyLoss(weight=weights, ignore_index=UNLABELLED)
    transform = TrainTransform(config.crop_size, config.scale_range)
    with _progress() as progress:
        for epoch in range(run.epoch + 1, config.epochs + 1):
            started = time.perf_counter()
            epoch_steps = EpochSteps(
                train_set, photos, transform, batch_size=config.batch_size, seed=config.seed, epoch=epoch
            )
            loss = _train_epoch(run, criterion, epoch_steps, config, epoch, progress)
            val = {dataset.name: evaluate(run.model, dataset, progress=progress) for dataset in val_sets}
            run.end_epoch({
                "epoch": epoch,
                "train_loss": loss,
                "lr": run.scheduler.get_last_lr()[0],
                "seconds": round(time.perf_counter() - started, 1),
                "miou": float(np.mean([metrics["miou"] for metrics in val.values()])) if val else float(epoch),
                "val": val,
            })
            run.save(config)
            progress.console.print(_summary(run.record, config.epochs))
    return {**run.record, "best_miou": run.best["miou"], "best_epoch": run.best["epoch"]}


def score(config: TrainConfig, checkpoint: str | Path, output: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on ``config``'s val data; write a copy whose record holds the metrics.

    For a run trained elsewhere with ``validate=False`` (no val data there): its record is then
    complete, and the export's metadata carries these figures.
    """
    torch.set_num_threads(config.threads)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = build_model(len(CLASSES), pretrained=False)
    model.load_state_dict(state["model"])
    val = {}
    with _progress() as progress:
        for spec in config.val_data:
            dataset = open_dataset(spec, config)
            val[dataset.name] = evaluate(model, dataset, progress=progress)
    record = {**state["record"], "val": val, "miou": float(np.mean([m["miou"] for m in val.values()]))}
    save_checkpoint(Path(output), {**state, "record": record}, overwrite=overwrite)
    return record


@dataclass
class _Run:
    """The state of a training run that ``last.pt`` must hold to continue it exactly."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    epoch: int = 0  # completed epochs
    best: dict[str, Any] = field(default_factory=lambda: {"miou": -math.inf, "epoch": 0})
    record: dict[str, Any] = field(default_factory=dict)  # the latest epoch's metrics

    @classmethod
    def start(cls, config: TrainConfig, *, steps_per_epoch: int, device: torch.device | None = None) -> _Run:
        torch.manual_seed(config.seed)
        model = build_model(len(CLASSES), pretrained=config.pretrained and config.init_from is None)
        if config.init_from is not None:
            _load_init_weights(model, config.init_from)
        model.to(device or torch.device("cpu"))
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.PolynomialLR(
            optimizer, total_iters=config.epochs * steps_per_epoch, power=POLY_POWER
        )
        return cls(model, optimizer, scheduler)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.best, self.record = state["epoch"], dict(state["best"]), state["record"]

    def end_epoch(self, record: dict[str, Any]) -> None:
        self.epoch, self.record = record["epoch"], record
        if record["miou"] > self.best["miou"]:
            self.best = {"miou": record["miou"], "epoch": record["epoch"]}

    def save(self, config: TrainConfig) -> None:
        """best.pt when this epoch is the best, then last.pt, then the log line."""
        weights = {name: tensor.cpu() for name, tensor in self.model.state_dict().items()}
        common = {"model": weights, "record": self.record, "config": config.to_dict(),
                  "command": config.command}
        if self.best["epoch"] == self.epoch:
            save_checkpoint(config.output_dir / BEST, common)
        save_checkpoint(config.output_dir / LAST, {
            **common, "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch, "torch_rng": torch.get_rng_state(), "best": self.best,
        })
        with open(config.output_dir / LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(self.record) + "\n")


def open_dataset(spec: DatasetSpec, config: TrainConfig) -> SegmentationDataset:
    """Read and preload the dataset a config's ``[[train_data]]`` or ``[[val_data]]`` table names.

    Photos become a labelled dataset of the combined teacher's hard labels (for evaluation).
    """
    if spec.format == PHOTOS_FORMAT:
        samples = [
            Sample(photo.name, photo.image, teacher_labels(photo.target, photo.image.shape[:2]))
            for photo in open_photos(spec, config)
        ]
        return SegmentationDataset(f"photos-{spec.options['split']}", samples)
    return READERS[spec.format](**spec.options)


def open_photos(spec: DatasetSpec, config: TrainConfig) -> list[TaughtPhoto]:
    assert config.teach is not None  # TrainConfig.from_dict checks it
    return read_taught_photos(config.teach, spec.options["split"])


def class_weights(dataset: SegmentationDataset, weighting: str) -> torch.Tensor:
    """Per-class loss weights; "enet" is ENet's 1 / ln(1.02 + pixel share), which lifts rare classes.

    Rare classes (person, sign, pole) are what compression policies protect, and plain cross-entropy
    lets the large backgrounds dominate them. The 1.02 bounds the largest weight near 50.
    """
    if weighting == "none":
        return torch.ones(len(CLASSES))
    counts = dataset.class_pixel_counts().astype(np.float64)
    share = counts / max(counts.sum(), 1.0)
    return torch.from_numpy(1.0 / np.log(1.02 + share)).float()


def evaluate(model: nn.Module, dataset: SegmentationDataset, *, progress: Progress | None = None) -> dict[str, Any]:
    """Per-class IoU, mIoU and pixel accuracy of ``model`` on whole images of ``dataset``.

    ``miou`` averages the classes that occur in the dataset's labels: a taxonomy class a dataset never
    labels (animal in CamVid) would otherwise count 0 or be undefined. Predictions of such a class
    still cost the true class its IoU. Classes without labelled pixels have ``iou`` None.
    """
    model.eval()
    device = next(model.parameters()).device
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    task = progress.add_task(f"eval {dataset.name}", total=len(dataset), loss="") if progress else None
    with torch.inference_mode():
        for sample in dataset:
            logits = model(torch.from_numpy(normalise(sample.image))[None].to(device))
            confusion += confusion_matrix(sample.labels, logits[0].argmax(0).cpu().numpy(), len(CLASSES))
            if progress:
                progress.advance(task)
    if progress:
        progress.remove_task(task)
    return metrics_from_confusion(confusion)


def _check_datasets(config: TrainConfig, train_set: SegmentationDataset, val_sets: list[SegmentationDataset]) -> None:
    if len(train_set) < config.batch_size:
        raise OptionError(
            f"the training data holds {len(train_set)} samples, fewer than batch_size {config.batch_size}"
        )
    names = [dataset.name for dataset in val_sets]
    if len(set(names)) != len(names):
        raise OptionError(f"val datasets need distinct names (got {', '.join(names)}); give folder datasets a name")


def _load_init_weights(model: nn.Module, path: Path) -> None:
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError) as e:
        raise OptionError(f"init_from {path}: not a segpress training checkpoint ({' '.join(str(e).split())[:200]})") from e


def _resume_state(path: Path, config: TrainConfig) -> dict[str, Any]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    # Anything but these would make the resumed run differ from the one it continues.
    free = {"resume", "source", "threads", "loader_workers"}
    saved = {k: v for k, v in state["config"].items() if k not in free}
    current = {k: v for k, v in config.to_dict().items() if k not in free}
    changed = sorted(k for k in current if saved.get(k) != current[k])
    if changed:
        raise OptionError(
            f"{path} was written with a different {changed[0]} ({saved.get(changed[0])!r}, "
            f"now {current[changed[0]]!r}); resume with the same config or choose another output_dir"
        )
    return state


def _train_epoch(
    run: _Run, criterion: nn.Module, steps: EpochSteps, config: TrainConfig, epoch: int, progress: Progress,
) -> float:
    """One epoch of ``steps``; returns the mean loss."""
    run.model.train()
    task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(steps), loss="")
    loader = torch.utils.data.DataLoader(
        steps, batch_size=None, shuffle=False, num_workers=config.loader_workers,
        persistent_workers=False, pin_memory=run.device.type == "cuda",
    )
    total = 0.0
    for number, step in enumerate(loader, start=1):
        loss = _step_loss(run, criterion, step, config.distill_weight)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.scheduler.step()
        total += loss.item()
        progress.update(task, advance=1, loss=f"loss {total / number:.3f}")
    progress.remove_task(task)
    return total / len(steps)


def _step_loss(run: _Run, criterion: nn.Module, step: Step, distill_weight: float) -> torch.Tensor:
    """Cross-entropy on the labelled crops, plus the weighted soft cross-entropy on the photos."""
    device = run.device
    images = step.images.to(device, non_blocking=True)
    if step.photo_images is not None:
        images = torch.cat([images, step.photo_images.to(device, non_blocking=True)])
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = run.model(images)
    labelled = len(step.labels)
    loss = criterion(logits[:labelled].float(), step.labels.to(device, non_blocking=True))
    if step.photo_targets is not None:
        targets = step.photo_targets.to(device, non_blocking=True)
        loss = loss + distill_weight * soft_cross_entropy(logits[labelled:], targets)
    return loss


def save_checkpoint(path: Path, payload: dict[str, Any], *, overwrite: bool = True) -> None:
    """torch.save, but all at once: an interrupted write never leaves a truncated checkpoint."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue(), overwrite=overwrite)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )


def _summary(record: dict[str, Any], epochs: int) -> str:
    val = ", ".join(
        f"{name} mIoU {metrics['miou']:.3f} acc {metrics['pixel_accuracy']:.3f}"
        for name, metrics in record["val"].items()
    )
    return f"epoch {record['epoch']}/{epochs}: loss {record['train_loss']:.3f}, {val}, {record['seconds']:.0f} s"
