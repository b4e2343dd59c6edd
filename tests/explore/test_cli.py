"""``stylegan explore``: options, the warning for a non-local address, and clear errors."""

import sys

import pytest

from tests.cli.conftest import run_cli


@pytest.fixture
def no_server(monkeypatch):
    """uvicorn.run replaced by a recorder: the command builds everything, then returns."""
    uvicorn = pytest.importorskip("uvicorn")
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_help_lists_explore():
    code, out, _ = run_cli("--help")
    assert code == 0 and "explore" in out
    code, out, _ = run_cli("explore", "--help")
    assert code == 0 and "--host" in out and "127.0.0.1" in out


def test_binds_localhost_by_default(no_server, nets, monkeypatch):
    monkeypatch.chdir(nets["root"])
    code, out, err = run_cli("explore", "--network", "g16.safetensors", "--port", "9999")
    assert code == 0 and "http://127.0.0.1:9999/" in out and "warning" not in err
    app, kw = no_server[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 9999
    assert app.state.explorer.network["name"] == "g16.safetensors"
    assert app.state.explorer.roots == [nets["root"].resolve()]


def test_other_address_warns(no_server, nets):
    code, out, err = run_cli("explore", "--host", "0.0.0.0", "--root", nets["root"])
    assert code == 0 and "warning: listening on 0.0.0.0" in err and "no authentication" in err


def test_network_outside_the_root_named_on_the_command_line_opens(no_server, nets, tmp_path):
    code, _, err = run_cli("explore", "--network", nets["sg2"], "--root", tmp_path)
    assert code == 0, err
    explorer = no_server[0][0].state.explorer
    assert explorer.network["path"] == str(nets["sg2"].resolve())


def test_bad_network_is_one_line(no_server, tmp_path):
    code, _, err = run_cli("explore", "--network", tmp_path / "none.safetensors", "--root", tmp_path)
    assert code == 2 and err.startswith("error:") and "not found" in err and len(err.strip().splitlines()) == 1


def test_missing_fastapi_is_one_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    code, _, err = run_cli("explore")
    assert code == 2 and "pip install 'stylegan[explore]'" in err and len(err.strip().splitlines()) == 1


def test_run_directory_named_on_the_command_line(no_server, nets, tmp_path):
    code, _, err = run_cli("explore", "--network", nets["run"], "--root", tmp_path)
    assert code == 0, err
    assert no_server[0][0].state.explorer.network["path"] == str(nets["run_latest"].resolve())
