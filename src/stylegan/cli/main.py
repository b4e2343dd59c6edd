"""Entry point of the `stylegan` command.

Subcommands live in their own modules (``stylegan.cli.<name>``), each exposing a click command
called ``command``; they are imported only when invoked so that ``stylegan --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from stylegan.errors import StyleganWarning, UserError

# name -> (module, one-line help). Keep sorted by name.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("stylegan.cli.analyze", "Papers' experiments: artifacts, noise, truncation, contributions, sticking."),
    "convert": ("stylegan.cli.convert", "Convert official and community checkpoints to the native format."),
    "dataset": ("stylegan.cli.dataset", "Convert an image folder, zip or toyfaces into a training dataset."),
    "directions": ("stylegan.cli.directions", "Find edit directions: InterFaceGAN, GANSpace, SeFa, StyleSpace."),
    "edit": ("stylegan.cli.edit", "Edit seeds or projected ws along a direction: strips of strengths, video."),
    "explore": ("stylegan.cli.explore", "Explore a network in the browser: latents, layers, spectra, artifacts."),
    "export": ("stylegan.cli.export", "Export a network: official PyTorch pickle, rosinality .pt, ONNX, TorchScript."),
    "generate": ("stylegan.cli.generate", "Generate images for a list of seeds."),
    "info": ("stylegan.cli.info", "Print a checkpoint's config, parameter counts and resolutions."),
    "metrics": ("stylegan.cli.metrics", "Measure a network: FID, KID, precision/recall, PPL, LS, equivariance."),
    "mix": ("stylegan.cli.mix", "Style-mixing figure: rows x columns of seeds mixed at chosen layers."),
    "project": ("stylegan.cli.project", "Project an image into a network's latent space (w or w+)."),
    "pti": ("stylegan.cli.pti", "Pivotal tuning: project an image, then fine-tune the generator around it."),
    "spectra": ("stylegan.cli.spectra", "Average power spectra of generated and dataset images."),
    "train": ("stylegan.cli.train", "Train a generator (StyleGAN 1/2/3, PIN) with snapshots and exact resume."),
    "video": ("stylegan.cli.video", "Looping latent interpolation video (lerp in W, slerp in Z)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module = importlib.import_module(SUBCOMMANDS[name][0])
        return module.command

    def format_commands(self, ctx, formatter):
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stylegan")
def cli():
    """StyleGAN, StyleGAN2, StyleGAN3 and PIN: train, generate, invert, measure and analyse."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit status 2, errors of the file system
    (an unwritable or full output, an unreadable input) one line naming the path and exit status 1.
    The library's warnings (``StyleganWarning``) become one ``warning:`` line each."""
    with warnings.catch_warnings():
        show = warnings.showwarning

        def show_warning(message, category, *args, **kwargs):
            if issubclass(category, StyleganWarning):
                click.echo(f"warning: {message}", err=True)
            else:
                show(message, category, *args, **kwargs)

        warnings.showwarning = show_warning
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="stylegan", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as e:  # a bad option value, a missing option: one line, as for UserError
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if isinstance(e, click.UsageError) and ctx else ""
        click.echo(f"error: {e.format_message()}{hint}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except UserError as e:
        click.echo(f"error: {e}", err=True)
        return 2
    except OSError as e:  # the file system refused: permission, read-only, full disk, missing folder, ...
        from stylegan.utils.files import describe_os_error

        click.echo(f"error: {describe_os_error(e)}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
