import zipfile

from PIL import Image

from tests.cli.conftest import run_cli
from tests.data.conftest import make_folder, random_image


def test_convert_folder_lists_bad_files(tmp_path):
    src = make_folder(tmp_path / "src", count=3)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    Image.fromarray(random_image(5, (20, 10))).save(src / "wide.png")
    code, out, err = run_cli("dataset", "--source", src, "--dest", tmp_path / "out.zip", "--resolution", 16)
    assert code == 0, err
    assert "wrote 3 images (16x16 RGB)" in out
    assert "broken.png" in err and "wide.png" in err and "left out 2 files" in err
    assert (tmp_path / "out.report.json").exists()
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 3


def test_convert_toyfaces_with_transform_and_max_images(tmp_path):
    code, out, err = run_cli(
        "dataset",
        "--source",
        "toyfaces",
        "--dest",
        tmp_path / "t.zip",
        "--resolution",
        16,
        "--max-images",
        4,
        "--transform",
        "center-crop",
    )
    assert code == 0, err
    assert "wrote 4 images" in out and "with labels" in out


def test_bad_options_exit_2_with_one_clear_line(tmp_path):
    src = make_folder(tmp_path / "src", count=2)
    cases = [
        (["--source", tmp_path / "missing", "--dest", tmp_path / "o.zip", "--resolution", 16], "does not exist"),
        (["--source", src, "--dest", tmp_path / "o.tar", "--resolution", 16], "a .zip file or a folder"),
        (["--source", src, "--dest", tmp_path / "o.zip", "--resolution", 100], "power of two"),
        (["--source", src, "--dest", tmp_path / "o.zip", "--resolution", "big"], "not a valid integer"),
        (["--source", src, "--dest", tmp_path / "o.zip", "--resolution", 16, "--transform", "x"], "Invalid value"),
        (["--source", src, "--dest", tmp_path / "o.zip"], "Missing option '--resolution'"),
    ]
    for args, message in cases:
        code, out, err = run_cli("dataset", *args)
        assert code == 2, (args, out, err)
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.zip").exists()
