"""Statistics collection, the JSON-lines log and the progress line."""

import json

import pytest
import torch

from stylegan.training.stats import StatsCollector, StatsLog, format_time, progress_line, read_stats


def test_collector_mean_std_over_reports():
    s = StatsCollector()
    s.report("a", torch.tensor([1.0, 2.0]))
    s.report("a", torch.tensor([[3.0], [4.0]]))
    s.report("b", 5.0)
    s.report_scalar("Progress/tick", 3)
    out = s.reduce()
    assert out["a"]["num"] == 4 and out["a"]["mean"] == pytest.approx(2.5)
    assert out["a"]["std"] == pytest.approx(torch.tensor([1.0, 2, 3, 4]).std(unbiased=False).item())
    assert out["b"]["mean"] == 5 and out["Progress/tick"]["mean"] == 3
    assert s.reduce() == {}  # reset after reduce


def test_log_truncates_after_a_snapshot(tmp_path):
    log = StatsLog(tmp_path, tensorboard=False)
    for nimg in (4, 8, 12):
        log.write(
            {"Loss/G/loss": {"num": 1, "mean": nimg, "std": 0}, "Timing/x": {"num": 1, "mean": 1, "std": 0}},
            nimg,
            timestamp=0.0,
            walltime=0.0,
        )
    with open(tmp_path / "stats.jsonl", "a") as f:
        f.write('{"Loss/G/loss": {"num"')  # a line cut short by a crash
    log.truncate_after(8)
    rows = read_stats(tmp_path / "stats.jsonl")
    assert [r["nimg"] for r in rows] == [4, 8]
    assert "Timing/x" not in rows[0] and "timestamp" not in rows[0]
    assert "Timing/x" in json.loads((tmp_path / "stats.jsonl").read_text().splitlines()[0])


def test_progress_line_shows_speed_and_time_left():
    line = progress_line(3, 12.0, 100.0, 75.0, 2.0)
    assert "kimg 12.000" in line and "sec/kimg 2.00" in line and "img/s 500.0" in line
    assert "left 2m 56s" in line
    assert "left 25s" in progress_line(3, 12.0, 100.0, 75.0, 2.0, time_limit=100.0)
    assert format_time(3 * 3600 + 120) == "3h 02m" and format_time(2 * 86400) == "2d 00h"
