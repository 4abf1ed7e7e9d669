"""Map rules compared: ``segpress bench`` with the default policy under each ``map_rule`` on one subset.

    .venv/bin/python benchmarks/map_rules.py [--data ../shared/data] [--photos ../shared/photos]
        [--rules expected,recall,regions] [--work build/map_rules] [--out benchmarks/results] [--collect-only]

The subset: every fifth CamVid val frame, the first 20 (judged by their ground-truth labels), and 20
held-out photos (``segpress.train.photos.photo_split == "heldout"``, every eighth in sorted order,
judged by the model's expected weight, whatever the rule: ``bench.measure.prepare``), all five pixel
formats, the default qualities. Per rule and set, ``segpress bench`` writes ``WORK/<rule>-<set>/``
(resumable: its cache is there); ``--collect-only`` reads those results without running anything.
Writes ``OUT/map_rules.json`` and ``OUT/map_rules.md``: the BD-rate of the PSNR and the MS-SSIM inside
against the same format's uniform encode (dataset-average curves), and bpp and mIoU at q90.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from segpress.bench.record import Run, machine_line
from segpress.policy import PRESETS
from segpress.train.photos import photo_split

REPO = Path(__file__).resolve().parent.parent
FORMATS = ("jpeg", "webp", "avif", "jxl-pixels", "j2k")
SETS = ("camvid", "photos")


def subset(data: Path, photos: Path, work: Path) -> dict[str, Path]:
    """Links to the subset's images (and CamVid's labels) under ``work``."""
    folders = {"camvid": work / "inputs" / "camvid", "labels": work / "inputs" / "camvid-labels",
               "photos": work / "inputs" / "photos"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for frame in sorted((data / "camvid" / "val").glob("*.png"))[::5][:20]:
        for folder, source in ((folders["camvid"], frame), (folders["labels"], data / "camvid" / "valannot" / frame.name)):
            link = folder / frame.name
            if not link.exists():
                link.symlink_to(source.resolve())
    held_out = sorted(p for p in photos.rglob("*.jpg") if photo_split(p) == "heldout")
    for photo in held_out[:: max(1, len(held_out) // 20)][:20]:
        link = folders["photos"] / f"{photo.parent.name}-{photo.name}"
        if not link.exists():
            link.symlink_to(photo.resolve())
    return folders


def policy_file(rule: str, work: Path) -> Path:
    """The default policy with ``map_rule = rule``."""
    default = PRESETS["default"]
    lines = [f'name = "default-{rule}"', f"default = {default.default}", f"margin = {default.margin}",
             f"feather = {default.feather}", f"min_area = {default.min_area}", f'map_rule = "{rule}"',
             f"confidence = {default.confidence}", "", "[weights]",
             *(f"{name} = {weight}" for name, weight in default.weights.items())]
    path = work / f"policy-{rule}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(rule: str, work: Path, folders: dict[str, Path], labels: Path) -> None:
    segpress = [str(Path(sys.executable).parent / "segpress")]
    policy = policy_file(rule, work)
    # --no-fallback: the rules are compared on the files they make, not on the uniform files that
    # compress would write instead where a rule does not pay
    common = ["--no-crops", "--no-fallback", "--policy", str(policy), "--workers", "2"]
    commands = {
        "camvid": [*segpress, "bench", str(folders["camvid"]), "-o", str(work / f"{rule}-camvid"), *common,
                   "--labels", str(folders["labels"]), "--classes", str(labels / "camvid-classes.txt"),
                   "--mapping", str(labels / "camvid-mapping.toml")],
        "photos": [*segpress, "bench", str(folders["photos"]), "-o", str(work / f"{rule}-photos"), *common],
    }
    for name, command in commands.items():
        print("$", " ".join(command), flush=True)
        if subprocess.run(command).returncode not in (0, 1):  # 1: some files not measured, listed
            raise SystemExit(f"map_rules: bench {rule} {name} failed")


def collect(rules: list[str], work: Path) -> dict:
    figures: dict = {}
    for rule in rules:
        for name in SETS:
            path = work / f"{rule}-{name}" / "results.json"
            if not path.exists():
                continue
            summary = json.loads(path.read_text())["summary"]
            truth = summary["task"]["ground_truth"]
            entry = {}
            for fmt in FORMATS:
                q90 = [p for p in summary["task"]["curves"].get(fmt, {}).get("semantic", []) if p["quality"] == 90]
                entry[fmt] = {
                    "bd_rate_psnr_roi": summary["bd_rate"]["psnr_roi"][fmt][fmt]["average_curve"],
                    "bd_rate_ms_ssim_roi": summary["bd_rate"]["ms_ssim_roi_db"][fmt][fmt]["average_curve"],
                    "bpp_q90": q90[0]["bpp"] if q90 else None,
                    "miou_q90": (q90[0]["miou_truth" if truth else "miou_original"] if q90 else None),
                }
            figures.setdefault(rule, {})[name] = {"images": summary["images"], "judge": "labels" if truth else "model",
                                                  "formats": entry}
    return figures


def markdown(report: dict) -> str:
    figures = report["results"]["rules"]
    lines = ["# Map rules (`benchmarks/map_rules.py`)", "",
             "BD-rate of the PSNR inside / of the MS-SSIM inside, semantic against the same format's uniform "
             "encode (dataset-average curves; negative: fewer bytes). CamVid: 20 val frames judged by the ground "
             "truth; photos: 20 held-out photos judged by the model's expected weight.", "",
             "| rule | set | " + " | ".join(FORMATS) + " |", "|---|---|" + "---|" * len(FORMATS)]
    for rule, sets in figures.items():
        for name, entry in sets.items():
            cells = [f"{v['bd_rate_psnr_roi']:+.1f} / {v['bd_rate_ms_ssim_roi']:+.1f} %" for v in entry["formats"].values()]
            lines.append(f"| {rule} | {name} | " + " | ".join(cells) + " |")
    lines += ["", f"{machine_line(report)}. Command: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument("--rules", default="expected,recall,regions")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "map_rules")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--collect-only", action="store_true")
    args = parser.parse_args(argv)
    record = Run("map_rules", argv)
    rules = args.rules.split(",")
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.collect_only:
        folders = subset(args.data, args.photos, args.work)
        labels = args.work / "inputs"
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_inputs.py"), str(labels), "--data",
                        str(args.data)], check=True)
        for rule in rules:
            run(rule, args.work, folders, labels)
    settings = {"rules": rules, "formats": FORMATS, "sets": SETS, "work": str(args.work),
                "collect_only": args.collect_only,
                "subset": "every 5th CamVid val frame, the first 20 (ground truth); 20 held-out photos (the model)"}
    print(markdown(record.write(args.out, settings, {"rules": collect(rules, args.work)}, markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
