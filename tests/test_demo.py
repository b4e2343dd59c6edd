"""``make demo`` end to end at a tiny scale: training, the probe FID in the report, and every figure of
the shipped network."""

from __future__ import annotations

import pytest

from stylegan import demo
from stylegan.io.zoo import shipped_networks


@pytest.mark.skipif(demo.SHIPPED not in shipped_networks(), reason="the shipped toyfaces network is not installed")
def test_demo_writes_its_report(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(demo, "FID_GENERATED", 128)
    monkeypatch.setattr(demo, "FID_REAL", 128)
    monkeypatch.setattr(demo, "VIDEO_FRAMES_PER_SEED", 2)
    assert demo.main(["--outdir", str(tmp_path), "--minutes", "0.02", "--processes", "1"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Trained here" in report and f"Loaded: the shipped `{demo.SHIPPED}`" in report
    assert "probe FID" in report
    assert "`stylegan2` (`--recipe small`), 32x32, channels <= 32" in report and "R1 gamma 0.2" in report
    for name in ("trained-samples.png", "samples.png", "style-mixing.png", "truncation.png", "reals.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert any((tmp_path / f"interpolation{ext}").exists() for ext in (".mp4", ".gif"))


def test_demo_options_use_every_core_up_to_two(monkeypatch, tmp_path):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert demo.default_processes() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert demo.default_processes() == 1
    opts = demo.demo_options(tmp_path, 1.0, 32, 0, processes=2)
    assert opts.gpus == 2 and opts.batch == 16 and opts.recipe == "small"
