"""Names of the networks that ship with the package: ``stylegan.load("toyfaces-stylegan2-32")``.

Each shipped network is a native checkpoint in ``stylegan/io/networks/<name>.safetensors``, trained
on the built-in ``toyfaces`` (its model card is ``docs/models/<name>.md``). Every tool that takes a
network file also takes one of these names, and nothing is downloaded: the files are part of the
installed package. A path that exists always wins over a name.
"""

from __future__ import annotations

from pathlib import Path

NETWORKS_DIR = Path(__file__).resolve().parent / "networks"
SUFFIX = ".safetensors"


def shipped_networks() -> dict[str, Path]:
    """{name: file} of every network in the package, sorted by name."""
    if not NETWORKS_DIR.is_dir():
        return {}
    return {p.name[: -len(SUFFIX)]: p for p in sorted(NETWORKS_DIR.glob(f"*{SUFFIX}"))}


def resolve_network(path_or_name: str | Path) -> Path:
    """The file behind ``path_or_name``: the path itself when it exists or names a folder or
    file, else the shipped network of that name, else the path unchanged (the caller reports it
    missing, listing the shipped names)."""
    path = Path(path_or_name)
    if path.exists():
        return path
    text = str(path_or_name)
    name = text[: -len(SUFFIX)] if text.endswith(SUFFIX) else text
    return shipped_networks().get(name, path)


def missing_network_message(path: str | Path) -> str:
    """The message for a network path that exists neither as a file nor as a shipped name."""
    names = ", ".join(shipped_networks()) or "none installed"
    return f"network file not found: {path} (shipped networks: {names})"
