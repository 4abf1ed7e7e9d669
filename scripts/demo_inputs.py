"""Write the demo photo and its importance mask: skimage's astronaut and a mask from its face detector.

Until segpress ships its segmentation model, `make demo` needs a mask computed from the photo itself.
The rule: scikit-image's LBP frontal-face cascade (shipped with scikit-image) finds faces; each face
box is grown by 60% of its size on every side to take in hair, ears and chin; that area is important
(255), the rest is background (0).

Usage: python scripts/demo_inputs.py OUTPUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data
from skimage.feature import Cascade

GROW = 0.6


def face_mask(pixels: np.ndarray) -> np.ndarray:
    detector = Cascade(data.lbp_frontal_face_cascade_filename())
    faces = detector.detect_multi_scale(
        img=pixels, scale_factor=1.2, step_ratio=1, min_size=(60, 60), max_size=(400, 400)
    )
    mask = np.zeros(pixels.shape[:2], dtype=np.uint8)
    for face in faces:
        grow_r, grow_c = int(face["height"] * GROW), int(face["width"] * GROW)
        top, left = max(face["r"] - grow_r, 0), max(face["c"] - grow_c, 0)
        mask[top : face["r"] + face["height"] + grow_r, left : face["c"] + face["width"] + grow_c] = 255
    return mask


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    photo = data.astronaut()
    Image.fromarray(photo).save(out / "astronaut.png")
    mask = face_mask(photo)
    Image.fromarray(mask).save(out / "astronaut-mask.png")
    print(f"wrote {out / 'astronaut.png'} and its face mask ({100 * (mask > 0).mean():.1f}% important)")


if __name__ == "__main__":
    main(sys.argv[1])
