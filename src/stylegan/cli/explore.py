"""stylegan explore: the interactive explorer in the browser (a local web application)."""

from __future__ import annotations

import click

from stylegan.cli.common import device_option

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MISSING = (
    "stylegan explore needs FastAPI and uvicorn, which are not installed; "
    "install them with: pip install 'stylegan[explore]'"
)


@click.command(name="explore")
@click.option(
    "--network",
    default=None,
    metavar="CKPT",
    help="Network to open at start: a file, a training run directory (its newest snapshot) or a "
    "shipped network's name. Others can be opened from the page.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but 127.0.0.1/localhost lets other machines reach the "
    "explorer (and the files under --root): a warning is printed.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    help="Folder the page may open networks from (repeatable; default: the current folder).",
)
@click.option(
    "--outdir",
    default="out/explore",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where saved images and videos go.",
)
@device_option
def command(network, host, port, roots, outdir, device):
    """Explore a network in the browser: seeds, truncation, style mixing, noise, StyleGAN3 transforms,
    every layer's output and its spectrum, circular-artifact tools, captures.

    Open http://HOST:PORT/ in a browser. Runs on CPU, CUDA and MPS; nothing is downloaded."""
    from stylegan.errors import UserError

    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise UserError(MISSING) from None
    from stylegan.explore.app import create_app
    from stylegan.explore.session import Explorer
    from stylegan.utils.device import pick_device

    explorer = Explorer(
        roots=list(roots) or None, outdir=outdir, device=pick_device(device), allowed_files=[network] if network else []
    )
    if network:
        explorer.open(network)
    if host not in LOCAL_HOSTS:
        click.echo(
            f"warning: listening on {host}: other machines can reach the explorer and open the networks "
            f"under {', '.join(str(r) for r in explorer.roots)}; it has no authentication",
            err=True,
        )
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"stylegan explore: http://{shown}:{port}/  (device {explorer.device}; Ctrl+C stops)")
    server = uvicorn.Server(uvicorn.Config(create_app(explorer), log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def listening_socket(host: str, port: int):
    """A socket bound to ``host``:``port`` (port 0: a free one), or one clear line why not."""
    import socket

    from stylegan.errors import UserError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    return sock
