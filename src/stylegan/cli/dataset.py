"""stylegan dataset: convert a folder or archive of images (or toyfaces) into a training dataset."""

from __future__ import annotations

import click

from stylegan.data.dataset_tool import TRANSFORMS


@click.command(name="dataset")
@click.option("--source", required=True, metavar="SRC", help="Image folder, .zip archive, or 'toyfaces'.")
@click.option(
    "--dest",
    metavar="DEST",
    help="Output .zip (recommended), or a new or empty folder (any name not ending in .zip).  [required "
    "unless --summary]",
)
@click.option(
    "--resolution", type=int, metavar="N", help="Output size, a power of two (e.g. 256).  [required unless --summary]"
)
@click.option(
    "--summary",
    "summary_dest",
    metavar="FOLDER",
    default=None,
    help="Instead of converting, describe SRC (a folder or .zip): counts, sizes, colour modes, duplicates, "
    "labels; writes summary.json and contact-sheet.png into the new or empty FOLDER.",
)
@click.option(
    "--transform",
    type=click.Choice(TRANSFORMS),
    default=None,
    help="How to make non-square images square (default: keep square images, leave out others).",
)
@click.option(
    "--max-images",
    type=int,
    default=None,
    metavar="M",
    help="Stop after writing M images (toyfaces: the number of faces, default 50000).",
)
@click.option("--grayscale", is_flag=True, help="Write one-channel grayscale images instead of RGB.")
@click.option(
    "--background",
    default="255,255,255",
    show_default=True,
    metavar="R,G,B|#RRGGBB",
    help="Colour that transparent pixels are composited onto, and that --transform pad fills with.",
)
@click.option(
    "--alpha",
    type=click.Choice(["composite", "drop"]),
    default="composite",
    show_default=True,
    help="Images with transparency: composite onto --background, or drop the alpha channel (the stored colours).",
)
@click.option(
    "--select",
    multiple=True,
    metavar="NAME=VALUE",
    help="Keep only images whose label NAME (a label_names entry, a column number, or 'class') has "
    "VALUE, e.g. --select glasses=1; repeat for several conditions.",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Decoding threads (default: up to 4).")
@click.option("--force", is_flag=True, help="Replace an existing .zip DEST (a folder DEST must be new or empty).")
def command(
    source, dest, resolution, transform, max_images, grayscale, background, alpha, select, workers, force, summary_dest
):
    """Convert SRC into a dataset of square PNGs (00000/img00000000.png, ...) in DEST.

    Files that cannot be read (corrupt, truncated, not an image) or used (not square without
    --transform, no label) are listed by name and left out; the report next to DEST lists them
    all. DEST appears only once complete.

    \b
      stylegan dataset --source ~/photos --summary photos-summary    # look first
      stylegan dataset --source ~/photos --dest photos-256.zip --resolution 256 --transform center-crop
    """
    if summary_dest is not None:
        if select:
            from stylegan.errors import UserError

            raise UserError("--select applies to a conversion, not to --summary")
        _summarize(source, summary_dest, dest, resolution)
        return
    ctx = click.get_current_context()
    for param in ctx.command.params:
        if param.name in ("dest", "resolution") and ctx.params[param.name] is None:
            raise click.MissingParameter(ctx=ctx, param=param)  # required unless --summary
    from stylegan.data.dataset_tool import convert_dataset

    report = convert_dataset(
        source,
        dest,
        resolution,
        transform=transform,
        max_images=max_images,
        grayscale=grayscale,
        workers=workers,
        overwrite=force,
        background=background,
        alpha=alpha,
        select=select,
    )
    mode = "grayscale" if grayscale else "RGB"
    click.echo(
        f"wrote {report.written} images ({resolution}x{resolution} {mode}) to {report.dest}"
        + (" with labels" if report.labels else "")
    )
    if report.select:
        click.echo(f"selected by {' and '.join(report.select)}: {report.not_selected} labelled images left out")
    if report.resized:
        click.echo(f"resized {report.resized} images ({report.upscaled} of them upscaled)")
    if report.duplicates or report.near_duplicates:
        click.echo(
            f"duplicates: {sum(len(g) - 1 for g in report.duplicates)} exact copies in "
            f"{len(report.duplicates)} groups, {len(report.near_duplicates)} groups of near duplicates "
            "(kept; listed in the report)"
        )
    if report.skipped:
        click.echo(f"left out {len(report.skipped)} files (listed above and in the report)", err=True)
    click.echo(f"report: {report.report_path}")


def _summarize(source: str, summary_dest: str, dest, resolution) -> None:
    from stylegan.data.summary import CONTACT_SHEET, SUMMARY_FILE, summarize, write_summary
    from stylegan.errors import UserError
    from stylegan.utils.files import refuse_overwriting_inputs

    if dest is not None or resolution is not None:
        raise UserError("--summary describes SRC without converting it; leave out --dest and --resolution")
    if source == "toyfaces":
        raise UserError("--summary describes a folder or .zip of images; make a toyfaces dataset first")
    refuse_overwriting_inputs({"--source": source}, [summary_dest])
    summary = summarize(source)
    for line in summary.lines():
        click.echo(line)
    folder = write_summary(summary, summary_dest)
    click.echo(f"wrote {folder / SUMMARY_FILE} and {folder / CONTACT_SHEET}")
