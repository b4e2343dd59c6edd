"""`stylegan metrics` end to end on a tiny random generator, toyfaces and the probe."""

import json

from tests.cli.conftest import run_cli


def test_cli_end_to_end(tiny_generator_path, tmp_path):
    results = tmp_path / "results.jsonl"
    args = [
        "metrics",
        "--network",
        tiny_generator_path,
        "--data",
        "toyfaces",
        "--metrics",
        "fid50k_full,kid50k_full,ppl_wend",
        "--detector",
        "probe",
        "--num",
        "8",
        "--max-real",
        "12",
        "--batch",
        "4",
        "--results",
        results,
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
        "--device",
        "cpu",
    ]
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "fid50k_full" in out and "appended 3" in out
    args[args.index("fid50k_full,kid50k_full,ppl_wend")] = "fid50k_full"
    assert run_cli(*args)[0] == 0  # appends; dataset statistics now come from the cache
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["metric"] for line in lines] == ["fid50k_full", "kid50k_full", "ppl_wend", "fid50k_full"]
    first = lines[0]
    assert first["detector"] == "toyfaces-probe" and first["num"] == 8
    assert first["network"] == str(tiny_generator_path) and first["data"] == "toyfaces" and "time" in first
    assert first["value"] == lines[3]["value"]
    assert list((tmp_path / "cache" / "gan-metrics").glob("toyfaces-toyfaces-probe-*.npz"))


def test_cli_user_errors(tiny_generator_path, tmp_path):
    code, _, err = run_cli("metrics", "--network", tiny_generator_path, "--metrics", "nope")
    assert code == 2 and "unknown metric" in err
    code, _, err = run_cli("metrics", "--network", tmp_path / "missing.safetensors")
    assert code == 2 and "not found" in err
    code, _, err = run_cli(
        "metrics",
        "--network",
        tiny_generator_path,
        "--data",
        "toyfaces",
        "--metrics",
        "fid50k_full",
        "--num",
        "4",
        "--offline",
        "--cache-dir",
        tmp_path / "empty",
        "--quiet",
        "--device",
        "cpu",
    )
    assert code == 2 and "inception" in err and str(tmp_path / "empty") in err
    code, _, err = run_cli(
        "metrics",
        "--network",
        tiny_generator_path,
        "--metrics",
        "fid50k_full",
        "--detector",
        "probe",
        "--num",
        "4",
        "--quiet",
        "--device",
        "cpu",
    )
    assert code == 2 and "dataset" in err
