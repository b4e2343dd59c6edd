"""Explorer latency: time from a control change in the page to the new image shown, in a real
headless Chromium (the page measures it: ``performance.now()`` at the change, again when the new
image has loaded). Networks at the presets' full capacity with random weights (the size is what
matters for the time). Prints a table and writes JSON to benchmarks/results/.

    python benchmarks/explore_latency.py                                # stylegan2 64, 256; stylegan3-t 256
    python benchmarks/explore_latency.py --configs stylegan2:256 --changes 10
    python benchmarks/explore_latency.py --screenshot docs/images/explorer.png   # the README's picture

Needs the ``explore`` and ``dev`` extras and Chromium with chromedriver (``apt-get install chromium
chromium-driver``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO))


def measure(preset: str, res: int, changes: int, tmp: Path, precision: str = "fp32") -> dict:
    import torch
    from tests.explore.browser import Page, chromium, serve

    import stylegan
    from stylegan.explore.app import create_app
    from stylegan.explore.session import Explorer
    from stylegan.models import build_preset

    torch.manual_seed(0)
    path = stylegan.save(build_preset(preset, res).build()[0].eval(), tmp / f"{preset}-{res}.safetensors")
    explorer = Explorer(roots=[tmp], outdir=tmp / "out")
    with serve(create_app(explorer)) as url, chromium() as driver:
        driver.get(url + "/")
        page = Page(driver, timeout=600)
        page.wait(lambda: page.js("return window.explorer && window.explorer.ready === true"), "the page")
        page.set_value("path", path.name)
        start = time.perf_counter()
        page.after_change(lambda: driver.find_element("id", "open").click())
        open_s = time.perf_counter() - start
        if precision != "fp32":
            page.after_change(lambda: page.set_value("precision", precision))
        latencies, renders = [], []
        for i in range(1, changes + 2):  # the first change warms up
            page.after_change(lambda i=i: page.set_value("x", i))
            if i > 1:
                latencies.append(page.js("return window.explorer.lastLatencyMs"))
                renders.append(page.js("return window.explorer.lastResponse.render_ms"))
    return {
        "preset": preset,
        "res": res,
        "precision": precision,
        "changes": changes,
        "open_s": round(open_s, 2),
        "latency_ms_median": round(statistics.median(latencies), 1),
        "latency_ms": [round(x, 1) for x in latencies],
        "render_ms_median": round(statistics.median(renders), 1),
    }


def screenshot(path: Path, tmp: Path) -> None:
    """The explorer on the shipped toyfaces network: a fractional latent, style mixing, the image's spectrum."""
    from tests.explore.browser import Page, chromium, serve

    from stylegan.explore.app import create_app
    from stylegan.explore.session import Explorer

    explorer = Explorer(roots=[tmp], outdir=tmp / "out")
    with serve(create_app(explorer)) as url, chromium(width=1280, height=900) as driver:
        driver.get(url + "/")
        page = Page(driver, timeout=120)
        page.wait(lambda: page.js("return window.explorer && window.explorer.ready === true"), "the page")
        page.set_value("path", "toyfaces-stylegan2-32")
        page.after_change(lambda: driver.find_element("id", "open").click())
        page.after_change(lambda: page.set_value("x", 12.4))
        page.after_change(lambda: page.set_value("psi", 0.8))
        page.after_change(lambda: driver.find_element("css selector", "[data-preset=fine]").click())
        page.set_value("mix-seed", 7)
        page.after_change(lambda: page.set_value("mix-seed", 7))
        page.after_change(lambda: driver.find_element("id", "fft").click())
        time.sleep(0.3)
        path.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(path))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        default="stylegan2:64,stylegan2:256,stylegan3-t:256",
        help="preset:resolution[:precision] (fp32 by default, bf16, fp16)",
    )
    parser.add_argument("--changes", type=int, default=5, help="control changes timed per network")
    parser.add_argument(
        "--output", default=None, help="JSON file (default: benchmarks/results/explore-latency-cpu.json)"
    )
    parser.add_argument("--screenshot", default=None, help="only take the README's screenshot into this PNG")
    parser.add_argument("--note", default="", help="a note stored with the results (e.g. the machine's load)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.screenshot:
            screenshot(Path(args.screenshot), Path(tmp))
            return
        import torch

        rows = []
        for item in args.configs.split(","):
            preset, res, *precision = item.split(":")
            row = measure(preset, int(res), args.changes, Path(tmp), *precision)
            rows.append(row)
            print(
                f"{row['preset']:12s} {row['res']:5d} px {row['precision']}  control->image median "
                f"{row['latency_ms_median']:8.1f} ms  (render {row['render_ms_median']:.1f} ms, "
                f"open {row['open_s']:.1f} s)",
                flush=True,
            )
    out = Path(args.output) if args.output else RESULTS / "explore-latency-cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_average": os.getloadavg(),
        "note": args.note,
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
