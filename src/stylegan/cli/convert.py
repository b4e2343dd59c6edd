"""stylegan convert: official and community checkpoints -> native safetensors checkpoints."""

from __future__ import annotations

from pathlib import Path

import click

from stylegan.errors import UserError

SUFFIX = ".safetensors"


def plan_outputs(names: list[str], which: str, dest: Path) -> dict[str, Path]:
    """Which network goes to which file. ``G``: the generator to use (``G_ema`` where the source
    has one) to ``dest``; ``D``: the discriminator to ``dest``; ``all``: every network to
    ``dest/<name>.safetensors`` (``G``, ``G_ema``, ``D``)."""
    if which == "all":
        if dest.exists() and not dest.is_dir():
            raise UserError(f"with --which all, DEST is a directory; {dest} is a file")
        return {name: dest / f"{name}{SUFFIX}" for name in names}
    if dest.is_dir():
        raise UserError(f"{dest} is a directory; give a file name such as {dest / ('network' + SUFFIX)}")
    wanted = ["G_ema", "G"] if which == "G" else ["D"]
    for name in wanted:
        if name in names:
            return {name: dest}
    raise UserError(f"the source holds no {'generator' if which == 'G' else 'discriminator'} (it has {names})")


def convert(src: str | Path, dest: str | Path, which: str = "G", overwrite: bool = False) -> dict[str, Path]:
    """Convert the network(s) in ``src`` (any format ``load_network`` reads) to native checkpoints.

    Returns {network name: written path}. Every file is written atomically; nothing is written
    when an output exists (unless ``overwrite``) or any conversion fails.
    """
    import stylegan
    from stylegan.cli.export import training_state
    from stylegan.io.loading import network_builders
    from stylegan.utils.files import check_output_file, refuse_overwriting_inputs

    src, dest = Path(src), Path(dest)
    state = training_state(src)
    if state is not None:  # a run's training-state-*.pt: G, D and G_ema rebuilt from its options
        from stylegan.training.build import networks_from_state

        fmt = "training-state"
        builders = {name: (lambda m=m: m) for name, m in networks_from_state(state, str(src)).items()}
    else:
        fmt, builders = network_builders(src)
    outputs = plan_outputs(list(builders), which, dest)
    refuse_overwriting_inputs({"SRC": src}, outputs.values())
    for path in outputs.values():
        check_output_file(path, overwrite)
    modules = {name: builders[name]() for name in outputs}  # convert everything before writing
    for name, path in outputs.items():
        stylegan.save(
            modules[name],
            path,
            extra_metadata={
                "converted_from": src.name,
                "source_format": fmt,
                "source_network": name,
            },
        )
    return outputs


@click.command(name="convert")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--which",
    type=click.Choice(["G", "D", "all"]),
    default="G",
    show_default=True,
    help="G: the generator to use (the EMA one where the file has it) into the file DEST; D: the "
    "discriminator into DEST; all: every network into the directory DEST as G.safetensors, "
    "G_ema.safetensors, D.safetensors.",
)
@click.option("--force", is_flag=True, help="Replace existing output files.")
def command(src, dest, which, force):
    """Convert SRC to the native safetensors format.

    SRC may be an official NVIDIA snapshot (StyleGAN2-ADA-PyTorch, StyleGAN3 network-snapshot-*.pkl),
    an official TensorFlow pickle (StyleGAN, StyleGAN2, StyleGAN2-ADA), a rosinality/stylegan2-pytorch
    .pt checkpoint, a native checkpoint, or a run's training-state-*.pt (its G, D and G_ema).
    Pickles are read by a restricted unpickler that runs none of the code they may carry.
    """
    written = convert(src, dest, which, overwrite=force)
    for name, path in written.items():
        click.echo(f"{name} -> {path}")
