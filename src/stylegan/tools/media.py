"""Writing videos and arrays: MP4 through imageio-ffmpeg, GIF (Pillow) where ffmpeg is missing.

Files are written to a temporary name beside the destination and renamed at the end, so an
interrupted run never leaves a truncated video or ``.npz`` under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from stylegan.errors import UserError
from stylegan.io.checkpoint import atomic_write

VIDEO_SUFFIXES = (".mp4", ".gif")


def _write_file(path: Path, write) -> Path:
    """atomic_write, then the usual permissions of a new file (the temporary file is private)."""
    atomic_write(path, write)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return path


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
    path = check_video_path(path)
    if fps <= 0:
        raise UserError(f"fps must be positive, got {fps:g}")
    if path.suffix.lower() == ".mp4" and not ffmpeg_available():
        gif = path.with_suffix(".gif")
        if notice is not None:
            notice(f"ffmpeg is not available (install imageio-ffmpeg for MP4); writing {gif} instead")
        path = gif
    if path.suffix.lower() == ".gif":
        _write_file(path, lambda tmp: _write_gif(frames, tmp, fps))
    else:
        _write_file(path, lambda tmp: _write_mp4(frames, tmp, fps, bitrate))
    return path


def _write_mp4(frames: Iterable[np.ndarray], tmp: str, fps: float, bitrate: str) -> None:
    import imageio_ffmpeg

    writer = None
    size = None
    try:
        for frame in frames:
            frame = _as_rgb_even(frame)
            if writer is None:
                size = frame.shape[1], frame.shape[0]
                writer = imageio_ffmpeg.write_frames(tmp, size, fps=fps, codec="libx264", bitrate=bitrate,
                                                     macro_block_size=1, output_params=["-f", "mp4"])
                writer.send(None)
            elif (frame.shape[1], frame.shape[0]) != size:
                raise ValueError(f"frames change size: {size} then {frame.shape[1::-1]}")
            writer.send(np.ascontiguousarray(frame))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise UserError("no frames to write")


def _write_gif(frames: Iterable[np.ndarray], tmp: str, fps: float) -> None:
    pictures = [Image.fromarray(_as_rgb_even(f)) for f in frames]
    if not pictures:
        raise UserError("no frames to write")
    pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=max(1, round(1000 / fps)), loop=0)


def save_npz(path: str | Path, **arrays) -> Path:
    """``np.savez`` to ``path`` atomically (the name is kept as given)."""
    path = Path(path)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return _write_file(path, write)


def save_json(path: str | Path, text: str) -> Path:
    path = Path(path)
    return _write_file(path, lambda tmp: Path(tmp).write_text(text))
