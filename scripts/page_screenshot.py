"""Take the README's screenshot of the page: scikit-image's astronaut uploaded in headless chromium.

    .venv/bin/python scripts/page_screenshot.py [--out docs/screenshot.png] [--chromium /usr/bin/chromium]

Starts the server on 127.0.0.1 (a free port), opens the page in a fresh chromium profile driven by
Playwright (no browser is downloaded), uploads the photo, waits for the first comparison and saves a
1440x900 screenshot.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright
from skimage import data

from segpress.server import create_app
from segpress.server.app import running

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        photo = Path(work) / "astronaut.png"
        Image.fromarray(np.ascontiguousarray(data.astronaut())).save(photo)
        with running(create_app()) as url, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(work) / "profile"), executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1440, "height": 900},
            )
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            page.set_input_files("#file", str(photo))
            page.wait_for_selector("#stage-wrap[data-ready=true]", timeout=30_000)
            page.wait_for_selector("#busy", state="hidden")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            context.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
