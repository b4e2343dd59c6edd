"""Writing videos and arrays: MP4 through imageio-ffmpeg, GIF (Pillow) where ffmpeg is missing.

Files are written to a temporary name beside the destination and renamed at the end, so an
interrupted run never leaves a truncated video or ``.npz`` under the final name.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from stylegan.errors import UserError
from stylegan.utils.files import atomic_write

VIDEO_SUFFIXES = (".mp4", ".gif")


def ffmpeg_available() -> bool:
    """True when imageio-ffmpeg and its ffmpeg binary can be used."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        return False
    return True


def check_video_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(f"video file must end in {' or '.join(VIDEO_SUFFIXES)}, got {path.name!r}")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a video file name")
    return path


def video_path_written(path: str | Path) -> Path:
    """The file ``write_video`` writes for ``path``: itself, or the GIF beside an MP4 where ffmpeg is missing."""
    path = Path(path)
    if path.suffix.lower() == ".mp4" and not ffmpeg_available():
        return path.with_suffix(".gif")
    return path


def _as_rgb_even(frame: np.ndarray) -> np.ndarray:
    """[H, W, C] uint8 -> RGB with even height and width (what H.264 in yuv420p needs), by edge padding."""
    frame = np.asarray(frame, dtype=np.uint8)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


def write_video(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float = 30,
    bitrate: str = "16M",
    notice: Callable[[str], None] | None = print,
) -> Path:
    """Write [H, W, C] uint8 frames as a video and return the path written.

    ``.mp4`` goes through imageio-ffmpeg (H.264); when ffmpeg is unavailable the frames go to a
    GIF beside it (same name, ``.gif``) and ``notice`` says so. ``.gif`` is written with Pillow.
    """
    requested = check_video_path(path)
    if fps <= 0:
        raise UserError(f"fps must be positive, got {fps:g}")
    path = video_path_written(requested)
    if path != requested and notice is not None:
        notice(f"ffmpeg is not available (install imageio-ffmpeg for MP4); writing {path} instead")
    if path.suffix.lower() == ".gif":
        atomic_write(path, lambda tmp: _write_gif(frames, tmp, fps))
    else:
        atomic_write(path, lambda tmp: _write_mp4(frames, tmp, fps, bitrate))
    return path


def _write_mp4(frames: Iterable[np.ndarray], tmp: str, fps: float, bitrate: str) -> None:
    """Pipe the frames to imageio-ffmpeg's ffmpeg (H.264, yuv420p, as ``imageio_ffmpeg.write_frames``
    does) and check how it ended: an ffmpeg that could not write (a full disk) is an ``OSError``,
    never a silently empty video."""
    import subprocess
    import tempfile
    from fractions import Fraction

    import imageio_ffmpeg

    proc = size = None
    with tempfile.TemporaryFile() as log:
        try:
            for frame in frames:
                frame = _as_rgb_even(frame)
                if proc is None:
                    size = frame.shape[1], frame.shape[0]
                    cmd = [
                        imageio_ffmpeg.get_ffmpeg_exe(),
                        "-y",
                        "-f",
                        "rawvideo",
                        "-vcodec",
                        "rawvideo",
                        "-s",
                        f"{size[0]}x{size[1]}",
                        "-pix_fmt",
                        "rgb24",
                        "-r",
                        str(Fraction(fps).limit_denominator()),
                        "-i",
                        "-",
                        "-an",
                        "-vcodec",
                        "libx264",
                        "-pix_fmt",
                        "yuv420p",
                        "-b:v",
                        bitrate,
                        "-v",
                        "error",
                        "-f",
                        "mp4",
                        tmp,
                    ]
                    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
                elif (frame.shape[1], frame.shape[0]) != size:
                    raise ValueError(f"frames change size: {size} then {frame.shape[1::-1]}")
                try:
                    proc.stdin.write(np.ascontiguousarray(frame).tobytes())
                except BrokenPipeError:  # ffmpeg stopped: its exit status and log say why
                    break
        except BaseException:
            if proc is not None:
                proc.kill()
                proc.wait()
            raise
        if proc is None:
            raise UserError("no frames to write")
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        if proc.wait() != 0:
            log.seek(0)
            lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {proc.returncode}"
            code = errno.ENOSPC if "No space left" in reason else errno.EIO
            raise OSError(code, f"ffmpeg could not write the video ({reason})")


def _write_gif(frames: Iterable[np.ndarray], tmp: str, fps: float) -> None:
    pictures = [Image.fromarray(_as_rgb_even(f)) for f in frames]
    if not pictures:
        raise UserError("no frames to write")
    pictures[0].save(
        tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=max(1, round(1000 / fps)), loop=0
    )


def save_npz(path: str | Path, **arrays) -> Path:
    """``np.savez`` to ``path`` atomically (the name is kept as given)."""
    path = Path(path)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)


def save_json(path: str | Path, text: str) -> Path:
    path = Path(path)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
