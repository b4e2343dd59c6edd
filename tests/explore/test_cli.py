"""``stylegan explore``: options, the warning for a non-local address, and clear errors."""

import sys

import pytest

from tests.cli.conftest import run_cli


@pytest.fixture
def no_server(monkeypatch):
    """uvicorn's Server.run replaced by a recorder of (app, bound address): the command builds
    everything, binds its socket, then returns."""
    uvicorn = pytest.importorskip("uvicorn")
    calls = []

    def run(self, sockets=None):
        calls.append((self.config.app, {"host": sockets[0].getsockname()[0], "port": sockets[0].getsockname()[1]}))

    monkeypatch.setattr(uvicorn.Server, "run", run)
    return calls


def test_help_lists_explore():
    code, out, _ = run_cli("--help")
    assert code == 0 and "explore" in out
    code, out, _ = run_cli("explore", "--help")
    assert code == 0 and "--host" in out and "127.0.0.1" in out


def test_binds_localhost_by_default(no_server, nets, monkeypatch):
    monkeypatch.chdir(nets["root"])
    code, out, err = run_cli("explore", "--network", "g16.safetensors", "--port", "0")
    app, kw = no_server[0]
    assert code == 0 and f"http://127.0.0.1:{kw['port']}/" in out and "warning" not in err
    assert kw["host"] == "127.0.0.1" and kw["port"] > 0
    assert app.state.explorer.network["name"] == "g16.safetensors"
    assert app.state.explorer.roots == [nets["root"].resolve()]


def test_other_address_warns(no_server, nets):
    code, out, err = run_cli("explore", "--host", "0.0.0.0", "--port", "0", "--root", nets["root"])
    assert code == 0 and "warning: listening on 0.0.0.0" in err and "no authentication" in err


def test_network_outside_the_root_named_on_the_command_line_opens(no_server, nets, tmp_path):
    code, _, err = run_cli("explore", "--network", nets["sg2"], "--root", tmp_path, "--port", "0")
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
    code, _, err = run_cli("explore", "--network", nets["run"], "--root", tmp_path, "--port", "0")
    assert code == 0, err
    assert no_server[0][0].state.explorer.network["path"] == str(nets["run_latest"].resolve())


def test_a_busy_port_is_one_line(no_server):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, _, err = run_cli("explore", "--port", port)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1
    assert not no_server
