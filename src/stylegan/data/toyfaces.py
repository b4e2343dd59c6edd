"""toyfaces: a built-in procedural dataset of cartoon faces with known factors of variation.

Every image is drawn from scratch with numpy (no assets, nothing downloaded) at any power-of-two
resolution from 16 to 1024, and depends only on its index: ``render(i, res)`` gives the same
picture on every machine, in every process, in any order. The factors behind each face are known
and exported as labels, so a generator's disentanglement and style mixing can be checked against
ground truth:

    coarse (geometry, set by the low-resolution styles):  yaw, roll, face_shape, hair_style
    fine (colours and small details, high-resolution styles): skin_tone, hair_color, background,
                                                              eyes_open, smile, glasses

``FACTORS`` describes each factor. ``factors(i)`` gives one face's factors as a dict, ``factor_table(ids)``
the same for many indices at once (integer codes for categorical factors), ``labels(ids)`` the label
vectors (continuous pose in [-1, 1], one-hot categorical factors, 0/1 flags) whose entries are
named by ``LABEL_NAMES``. ``draw(factors, res)`` renders any factor combination, e.g. to vary one
factor while holding the others.

Rendering: shapes are signed-distance functions evaluated in a head-centred frame (rotated by the
roll, shifted by the yaw); each pixel's coverage is ``clip(0.5 - d / pixel_size, 0, 1)``, an analytic
anti-aliasing that costs one sample per pixel at every resolution. Each shape is evaluated only on
its bounding box, so a 64 px face takes about a millisecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_RESOLUTION = 16
MAX_RESOLUTION = 1024


@dataclass(frozen=True)
class Factor:
    """One factor of variation. ``kind`` is 'continuous' (values = (low, high)), 'categorical'
    (values = the category names) or 'binary' (values = (False, True)); ``scale`` is 'coarse' or 'fine'."""

    name: str
    kind: str
    values: tuple
    scale: str
    description: str


FACE_SHAPES = ("round", "oval", "long", "square", "heart")
HAIR_STYLES = ("bald", "short", "long", "bangs", "afro")
SKIN_TONES = ("porcelain", "fair", "beige", "tan", "brown", "deep")
HAIR_COLORS = ("black", "brown", "blond", "ginger", "grey", "blue")
BACKGROUNDS = ("sky", "mint", "rose", "sand", "lilac", "silver")

FACTORS: tuple[Factor, ...] = (
    Factor("yaw", "continuous", (-1.0, 1.0), "coarse", "head turned left (-1) to right (+1), about +-30 degrees"),
    Factor("roll", "continuous", (-1.0, 1.0), "coarse", "head tilted anticlockwise (-1) to clockwise (+1), +-15 deg"),
    Factor("face_shape", "categorical", FACE_SHAPES, "coarse", "outline of the head"),
    Factor("hair_style", "categorical", HAIR_STYLES, "coarse", "hair shape"),
    Factor("skin_tone", "categorical", SKIN_TONES, "fine", "skin colour"),
    Factor("hair_color", "categorical", HAIR_COLORS, "fine", "colour of hair and eyebrows"),
    Factor("background", "categorical", BACKGROUNDS, "fine", "background colour"),
    Factor("eyes_open", "binary", (False, True), "fine", "eyes open (True) or shut"),
    Factor("smile", "binary", (False, True), "fine", "open smile (True) or closed mouth"),
    Factor("glasses", "binary", (False, True), "fine", "wears round glasses"),
)
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)

# Probability of True for the binary factors; categorical factors are uniform, continuous ones uniform in range.
_P_TRUE = {"eyes_open": 0.75, "smile": 0.5, "glasses": 0.3}


def _label_names() -> tuple[str, ...]:
    names = []
    for f in FACTORS:
        if f.kind == "categorical":
            names += [f"{f.name}={v}" for v in f.values]
        else:
            names.append(f.name)
    return tuple(names)


LABEL_NAMES: tuple[str, ...] = _label_names()
LABEL_DIM = len(LABEL_NAMES)

# ---------------------------------------------------------------------------------------------
# Counter-based randomness: the k-th random number of face i is a hash of (i, k), so any face can
# be drawn alone, in any order, and many faces' factors can be computed at once.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(indices: np.ndarray, slots: range) -> np.ndarray:
    """Uniform [0, 1) numbers [len(indices), len(slots)]: random slot k of face i hashes (i, k)."""
    keys = np.array([(k * 0x632BE59BD9B4E019 + 1) & 0xFFFFFFFFFFFFFFFF for k in slots], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(_splitmix64(indices.astype(np.uint64))[:, None] ^ keys[None, :])
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _check_indices(indices) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise ValueError("toyfaces indices must be >= 0")
    return idx


def factor_table(indices) -> dict[str, np.ndarray]:
    """Factors of many faces at once: float arrays for yaw/roll, int codes (index into
    ``Factor.values``) for categorical factors, bool arrays for binary ones."""
    idx = _check_indices(indices)
    table = {}
    uniforms = _uniform(idx, range(len(FACTORS)))
    for slot, f in enumerate(FACTORS):
        u = uniforms[:, slot]
        if f.kind == "continuous":
            lo, hi = f.values
            table[f.name] = lo + (hi - lo) * u
        elif f.kind == "categorical":
            table[f.name] = np.minimum((u * len(f.values)).astype(np.int64), len(f.values) - 1)
        else:
            table[f.name] = u < _P_TRUE[f.name]
    return table


def factors(index: int) -> dict:
    """The factors of face ``index``: floats for yaw/roll, category names, bools."""
    table = factor_table([index])
    out = {}
    for f in FACTORS:
        value = table[f.name][0]
        if f.kind == "continuous":
            out[f.name] = float(value)
        elif f.kind == "categorical":
            out[f.name] = f.values[int(value)]
        else:
            out[f.name] = bool(value)
    return out


def labels(indices) -> np.ndarray:
    """Label vectors [N, LABEL_DIM] float32 in the order of ``LABEL_NAMES``: yaw and roll in [-1, 1],
    one-hot categorical factors, 0/1 binary factors."""
    table = factor_table(indices)
    n = len(next(iter(table.values())))
    out = np.zeros((n, LABEL_DIM), dtype=np.float32)
    col = 0
    for f in FACTORS:
        if f.kind == "categorical":
            out[np.arange(n), col + table[f.name]] = 1
            col += len(f.values)
        else:
            out[:, col] = table[f.name]
            col += 1
    return out


def labels_to_factors(label: np.ndarray) -> dict:
    """Inverse of ``labels`` for one vector (argmax of each one-hot group, threshold 0.5 for flags)."""
    label = np.asarray(label, dtype=np.float32).reshape(-1)
    if label.size != LABEL_DIM:
        raise ValueError(f"a toyfaces label has {LABEL_DIM} entries, got {label.size}")
    out, col = {}, 0
    for f in FACTORS:
        if f.kind == "categorical":
            out[f.name] = f.values[int(np.argmax(label[col : col + len(f.values)]))]
            col += len(f.values)
        elif f.kind == "binary":
            out[f.name] = bool(label[col] > 0.5)
            col += 1
        else:
            out[f.name] = float(label[col])
            col += 1
    return out


def mirror_label(label: np.ndarray) -> np.ndarray:
    """The label of the x-flipped face: yaw and roll change sign, nothing else does."""
    label = np.array(label, dtype=np.float32, copy=True)
    label[..., LABEL_NAMES.index("yaw")] *= -1
    label[..., LABEL_NAMES.index("roll")] *= -1
    return label


# ---------------------------------------------------------------------------------------------
# Details that vary from face to face but are not factors (nuisance variation, not in the labels).

_DETAIL_SLOTS = 16  # first random slot used for details; slots below belong to FACTORS
_SHIRTS = (
    (0.85, 0.25, 0.25),
    (0.2, 0.45, 0.8),
    (0.25, 0.6, 0.35),
    (0.95, 0.75, 0.2),
    (0.35, 0.3, 0.4),
    (0.95, 0.95, 0.95),
)
_IRISES = ((0.35, 0.2, 0.1), (0.2, 0.45, 0.75), (0.25, 0.5, 0.3), (0.1, 0.08, 0.08))


def details(index: int) -> dict:
    """Nuisance details of face ``index``: small offsets, sizes and colours that are not factors."""
    u = _uniform(_check_indices([index]), range(_DETAIL_SLOTS, _DETAIL_SLOTS + 10))[0].tolist()
    return {
        "scale": 0.94 + 0.12 * u[0],
        "shift": (0.08 * (u[1] - 0.5), 0.06 * (u[2] - 0.5)),
        "eye_size": 0.9 + 0.25 * u[3],
        "eye_height": 0.06 * (u[4] - 0.5),
        "brow_tilt": 0.25 * (u[5] - 0.5),
        "iris": _IRISES[int(u[6] * len(_IRISES))],
        "shirt": _SHIRTS[int(u[7] * len(_SHIRTS))],
        "blush": u[8] < 0.4,
        "parting": 0.3 * (u[9] - 0.5),
    }


_NEUTRAL_DETAILS = {
    "scale": 1.0,
    "shift": (0.0, 0.0),
    "eye_size": 1.0,
    "eye_height": 0.0,
    "brow_tilt": 0.0,
    "iris": _IRISES[0],
    "shirt": _SHIRTS[1],
    "blush": False,
    "parting": 0.0,
}

# Colours (sRGB in [0, 1]) of the categorical factors, in the order of their values.
_SKIN_RGB = (
    (1.0, 0.89, 0.81),
    (0.96, 0.8, 0.68),
    (0.89, 0.68, 0.52),
    (0.76, 0.55, 0.38),
    (0.56, 0.37, 0.24),
    (0.37, 0.24, 0.16),
)
_HAIR_RGB = (
    (0.12, 0.1, 0.1),
    (0.42, 0.25, 0.12),
    (0.95, 0.82, 0.45),
    (0.8, 0.35, 0.12),
    (0.74, 0.74, 0.76),
    (0.22, 0.42, 0.88),
)
_BACKGROUND_RGB = (
    (0.6, 0.8, 0.96),
    (0.64, 0.9, 0.74),
    (0.98, 0.72, 0.79),
    (0.98, 0.9, 0.62),
    (0.78, 0.7, 0.94),
    (0.84, 0.85, 0.87),
)
_INK = np.array((0.12, 0.08, 0.08), dtype=np.float32)  # outlines of eyes, mouth, glasses

# ---------------------------------------------------------------------------------------------
# Signed-distance primitives (negative inside), in the head frame: u to the right, v down, the
# head about 2 units tall.


def _sd_circle(u, v, cx, cy, r):
    return np.hypot(u - cx, v - cy) - r


def _sd_ellipse(u, v, cx, cy, rx, ry):
    """Approximate signed distance to an ellipse (exact on the boundary's normal to first order)."""
    x, y = (u - cx) / rx, (v - cy) / ry
    k0 = np.hypot(x, y)
    k1 = np.hypot(x / rx, y / ry)
    return (k0 - 1.0) * (k0 + 1e-6) / (k1 + 1e-6 / min(rx, ry))


def _sd_box(u, v, cx, cy, hx, hy, r):
    """Rounded rectangle with half sizes (hx, hy) and corner radius r."""
    qx = np.abs(u - cx) - hx + r
    qy = np.abs(v - cy) - hy + r
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0) - r


def _sd_segment(u, v, ax, ay, bx, by, r):
    """Capsule around the segment a-b with radius r."""
    px, py, dx, dy = u - ax, v - ay, bx - ax, by - ay
    t = np.clip((px * dx + py * dy) / (dx * dx + dy * dy + 1e-12), 0, 1)
    return np.hypot(px - t * dx, py - t * dy) - r


# Head outlines: half width at eye level (for placing features) and the distance function.
_HEAD_RX = {"round": 0.93, "oval": 0.82, "long": 0.7, "square": 0.86, "heart": 0.9}


def _sd_head(shape: str, u, v):
    if shape == "round":
        return _sd_ellipse(u, v, 0, 0, 0.93, 0.98)
    if shape == "oval":
        return _sd_ellipse(u, v, 0, 0, 0.82, 1.02)
    if shape == "long":
        return _sd_ellipse(u, v, 0, 0.02, 0.7, 1.1)
    if shape == "square":
        return _sd_box(u, v, 0, 0.02, 0.86, 0.98, 0.38)
    # heart: wide cheekbones narrowing to a pointed chin
    narrow = 1.0 - 0.55 * np.clip(v, 0, 1) ** 1.3
    return _sd_ellipse(u / narrow, v, 0, 0, 0.92, 1.0) * (0.5 + 0.5 * narrow)


class _Painter:
    """An RGB float canvas in image coordinates [-1, 1]^2 (y down) and the current drawing frame:
    a point q of the frame lies at ``center + scale * R(angle) q`` in the image."""

    def __init__(self, resolution: int, background):
        self.res = resolution
        self.px = 2.0 / resolution
        self.centers = (np.arange(resolution, dtype=np.float32) + 0.5) * self.px - 1.0
        top = np.asarray(background, dtype=np.float32) * 1.06
        bottom = np.asarray(background, dtype=np.float32) * 0.9
        t = ((self.centers + 1) / 2)[:, None, None]
        self.img = np.broadcast_to(np.minimum(top + (bottom - top) * t, 1.0), (resolution, resolution, 3)).copy()
        self.set_frame((0.0, 0.0), 1.0, 0.0)

    def set_frame(self, center, scale, angle):
        self.cx, self.cy = center
        self.scale = scale
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        self.inv_px = scale / self.px  # 1 / (pixel size in frame units)

    def _patch(self, bbox, pad):
        """Pixel region covering the frame's box ``bbox`` grown by ``pad``, and its pixels' frame coordinates."""
        hw, hh = 0.5 * (bbox[2] - bbox[0]) + pad, 0.5 * (bbox[3] - bbox[1]) + pad
        mu, mv = 0.5 * (bbox[0] + bbox[2]), 0.5 * (bbox[1] + bbox[3])
        x = self.cx + self.scale * (self.cos * mu - self.sin * mv)
        y = self.cy + self.scale * (self.sin * mu + self.cos * mv)
        ex = self.scale * (abs(self.cos) * hw + abs(self.sin) * hh)
        ey = self.scale * (abs(self.sin) * hw + abs(self.cos) * hh)
        j0 = max(math.floor((x - ex + 1) / self.px - 0.5), 0)
        j1 = min(math.ceil((x + ex + 1) / self.px - 0.5) + 1, self.res)
        i0 = max(math.floor((y - ey + 1) / self.px - 0.5), 0)
        i1 = min(math.ceil((y + ey + 1) / self.px - 0.5) + 1, self.res)
        if j0 >= j1 or i0 >= i1:
            return None
        s = 1.0 / self.scale
        dx = (self.centers[j0:j1] - self.cx)[None, :]
        dy = (self.centers[i0:i1] - self.cy)[:, None]
        if self.sin == 0.0:
            return (slice(i0, i1), slice(j0, j1)), dx * s, dy * s
        u = (self.cos * s) * dx + (self.sin * s) * dy
        v = (self.cos * s) * dy - (self.sin * s) * dx
        return (slice(i0, i1), slice(j0, j1)), u, v

    def paint(self, sd, bbox, fill=None, outline=None, width=0.0, opacity=1.0):
        """Fill the region ``sd(u, v) < 0`` (within ``bbox`` = (u0, v0, u1, v1) in frame units) and/or
        stroke its boundary with a line ``width`` wide, anti-aliased by the pixel coverage."""
        patch = self._patch(bbox, width + 2.0 / self.inv_px)
        if patch is None:
            return
        region, u, v = patch
        d = sd(u, v)
        target = self.img[region]
        if fill is not None:
            self._blend(target, 0.5 - d * self.inv_px, fill, opacity)
        if outline is not None and width > 0:
            self._blend(target, 0.5 - (np.abs(d) - 0.5 * width) * self.inv_px, outline, opacity)

    @staticmethod
    def _blend(target, coverage, color, opacity):
        alpha = np.minimum(np.maximum(coverage, 0.0), 1.0)[..., None]
        if opacity != 1.0:
            alpha *= opacity
        target += alpha * (np.asarray(color, dtype=np.float32) - target)

    def to_uint8(self) -> np.ndarray:
        return np.clip(self.img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _darker(rgb, k=0.62):
    return tuple(c * k for c in rgb)


def _hairline(style: str, u, rx: float, parting: float):
    """Lower edge of the hair over the face (v as a function of u) and its slope."""
    if style == "bangs":  # a scalloped fringe straight across the forehead, longer at the sides
        b = np.abs(u) / rx
        side = np.clip((b - 0.6) / 0.3, 0, 1)
        h = -0.3 + 0.035 * np.cos(u * 20.0) + 0.6 * side**2
        dh = -0.7 * np.sin(u * 20.0) + 4.0 * side * np.sign(u) / rx
        return h, dh
    # top (v at the parting), rise (v gained at the side of the head), power, lowest v (ear level or below)
    top, rise, power, lowest = {
        "short": (-0.42, 0.5, 4, 0.1),
        "long": (-0.5, 1.25, 3, 0.85),
        "afro": (-0.38, 0.45, 4, 0.05),
    }[style]
    a = np.abs(u - parting) / rx
    h = top + rise * a**power
    dh = rise * power * a ** (power - 1) * np.sign(u - parting) / rx
    return np.minimum(h, lowest), np.where(h < lowest, dh, 0.0)


def draw(face: dict, resolution: int, detail: dict | None = None) -> np.ndarray:
    """Render a face with the given factors (a dict like ``factors(i)``) as an [H, W, 3] uint8 image."""
    _check_resolution(resolution)
    d = _NEUTRAL_DETAILS if detail is None else detail
    skin = _SKIN_RGB[SKIN_TONES.index(face["skin_tone"])]
    hair = _HAIR_RGB[HAIR_COLORS.index(face["hair_color"])]
    shape, style = face["face_shape"], face["hair_style"]
    rx = _HEAD_RX[shape]
    psi = 0.5 * float(face["yaw"])  # head turn in radians
    roll = math.radians(15.0) * float(face["roll"])
    line = 0.045  # outline width in frame units (the head is about 2 units tall)

    p = _Painter(resolution, _BACKGROUND_RGB[BACKGROUNDS.index(face["background"])])
    scale = 0.56 * d["scale"]
    cx, cy = d["shift"][0], -0.1 + d["shift"][1]

    # Body: shirt and neck, not rolled.
    p.set_frame((cx, cy), scale, 0.0)
    shirt = d["shirt"]
    p.paint(lambda u, v: _sd_ellipse(u, v, 0, 2.15, 1.45, 0.9), (-1.45, 1.25, 1.45, 3.05), shirt, _darker(shirt), line)
    p.paint(
        lambda u, v: _sd_box(u, v, 0, 1.05, 0.3, 0.42, 0.1),
        (-0.3, 0.63, 0.3, 1.47),
        _darker(skin, 0.85),
        _darker(skin),
        line,
    )

    # Head frame: rolled about the neck, which stays put.
    pivot = 0.9
    sn, cs = math.sin(roll), math.cos(roll)
    p.set_frame((cx + scale * sn * pivot, cy + scale * pivot * (1 - cs)), scale, roll)
    turn = math.sin(psi)

    def on_face(theta, radius=rx):
        """Horizontal position and foreshortening of a feature at longitude theta on the turned head."""
        return radius * math.sin(theta + psi), max(math.cos(theta + psi), 0.05) / math.cos(theta)

    # Hair behind the head.
    hair_line = _darker(hair)
    if style == "long":

        def back(u, v):
            top = _sd_ellipse(u, v, 0.1 * turn, -0.15, rx + 0.2, 0.98)
            return np.minimum(top, _sd_box(u, v, 0.1 * turn, 0.55, rx + 0.2, 0.75, 0.3))

        p.paint(back, (-rx - 0.3, -1.2, rx + 0.3, 1.35), hair, hair_line, line)
    elif style == "afro":

        def puff(u, v):
            ang = np.arctan2(v + 0.3, u)
            return np.hypot(u, v + 0.3) - (rx + 0.5 + 0.05 * np.cos(11 * ang))

        p.paint(puff, (-rx - 0.6, -0.3 - rx - 0.6, rx + 0.6, -0.3 + rx + 0.6), hair, hair_line, line)

    # Ears: the one on the side the face turns away from shows more.
    for side in (-1.0, 1.0):
        grow = max(1.0 - 1.3 * side * turn, 0.0)
        if grow <= 0.05:
            continue
        ex = side * (rx - 0.03 - 0.1 * max(side * turn, 0))
        ew = 0.17 * min(grow, 1.3)
        p.paint(
            lambda u, v, ex=ex, ew=ew: _sd_ellipse(u, v, ex, 0.12, ew, 0.24),
            (ex - ew, -0.12, ex + ew, 0.36),
            skin,
            _darker(skin),
            line,
        )

    # Head.
    def head(u, v):
        return _sd_head(shape, u, v)

    p.paint(head, (-1.0, -1.15, 1.0, 1.15), skin, _darker(skin), line)

    # Cheeks (blush) and nose.
    nose_x = 1.08 * rx * turn
    if d["blush"]:
        for side in (-1.0, 1.0):
            bx, f = on_face(side * 0.62, 0.92 * rx)
            p.paint(
                lambda u, v, bx=bx, f=f: _sd_ellipse(u, v, bx, 0.38, 0.13 * f, 0.08),
                (bx - 0.15, 0.28, bx + 0.15, 0.48),
                (0.95, 0.45, 0.5),
                opacity=0.35,
            )
    p.paint(
        lambda u, v: _sd_ellipse(u, v, nose_x, 0.3, 0.07, 0.055),
        (nose_x - 0.08, 0.23, nose_x + 0.08, 0.37),
        _darker(skin, 0.82),
    )

    # Eyes and eyebrows.
    ey = 0.05 + d["eye_height"]
    es = d["eye_size"]
    eyes = [on_face(side * 0.42, 0.92 * rx) for side in (-1.0, 1.0)]

    def pair(fn, half_w, half_h, y):
        """Union of a feature drawn at both eyes, with its bounding box."""
        (xa, fa), (xb, fb) = eyes
        bbox = (min(xa, xb) - half_w, y - half_h, max(xa, xb) + half_w, y + half_h)
        return (lambda u, v: np.minimum(fn(u, v, xa, fa), fn(u, v, xb, fb))), bbox

    if face["eyes_open"]:
        sd, bb = pair(lambda u, v, x, f: _sd_ellipse(u, v, x, ey, 0.19 * f * es, 0.14 * es), 0.24, 0.18, ey)
        p.paint(sd, bb, (1.0, 1.0, 1.0), _INK, 0.035)
        gaze = 0.05 * turn

        def iris(u, v, x, f):
            inside = _sd_ellipse(u, v, x, ey, 0.19 * f * es, 0.14 * es)
            return np.maximum(_sd_ellipse(u, v, x + gaze, ey + 0.01, 0.1 * f * es, 0.1 * es), inside)

        sd, bb = pair(iris, 0.24, 0.18, ey)
        p.paint(sd, bb, d["iris"])
        sd, bb = pair(
            lambda u, v, x, f: _sd_ellipse(u, v, x + gaze, ey + 0.01, 0.05 * f * es, 0.05 * es), 0.24, 0.1, ey
        )
        p.paint(sd, bb, _INK)
        sd, bb = pair(
            lambda u, v, x, f: _sd_circle(u, v, x + gaze - 0.035 * es, ey - 0.03 * es, 0.026 * es), 0.24, 0.1, ey
        )
        p.paint(sd, bb, (1.0, 1.0, 1.0))
    else:

        def shut(u, v, x, f):
            ring = np.abs(_sd_ellipse(u, v, x, ey - 0.03, 0.17 * f * es, 0.09 * es)) - 0.025
            return np.maximum(ring, ey - 0.03 - v)

        sd, bb = pair(shut, 0.22, 0.16, ey)
        p.paint(sd, bb, _INK)

    by = ey - 0.24 * es
    tilt = d["brow_tilt"]

    def brow(u, v, x, f):
        s = 1.0 if x > nose_x else -1.0  # outer end tilts down by the detail's brow tilt
        return _sd_segment(u, v, x - 0.13 * f, by - s * tilt * 0.13, x + 0.13 * f, by + s * tilt * 0.13, 0.03)

    sd, bb = pair(brow, 0.18, 0.1, by)
    p.paint(sd, bb, hair, _darker(hair, 0.5), 0.015)

    # Mouth.
    mx, mf = on_face(0.0, 0.95 * rx)
    my = 0.56
    if face["smile"]:
        mw, mh = 0.25 * mf, 0.2

        def mouth(u, v):
            return np.maximum(_sd_ellipse(u, v, mx, my, mw, mh), my - v)

        p.paint(mouth, (mx - mw, my - 0.02, mx + mw, my + mh + 0.02), (0.5, 0.1, 0.14))
        p.paint(
            lambda u, v: np.maximum(mouth(u, v), _sd_ellipse(u, v, mx, my + mh, 0.14 * mf, 0.1)),
            (mx - mw, my, mx + mw, my + mh + 0.02),
            (0.93, 0.45, 0.5),
        )
        p.paint(
            lambda u, v: np.maximum(mouth(u, v), v - my - 0.055),
            (mx - mw, my - 0.02, mx + mw, my + 0.08),
            (1.0, 1.0, 1.0),
        )
        p.paint(mouth, (mx - mw, my - 0.02, mx + mw, my + mh + 0.02), None, _INK, 0.035)
    else:
        mw = 0.16 * mf
        p.paint(
            lambda u, v: _sd_segment(u, v, mx - mw, my + 0.06, mx + mw, my + 0.06, 0.028),
            (mx - mw - 0.03, my + 0.03, mx + mw + 0.03, my + 0.09),
            _darker((0.7, 0.3, 0.3), 0.7),
        )

    # Hair over the forehead.
    if style == "bald":
        p.paint(
            lambda u, v: _sd_ellipse(u, v, -0.3 + 0.2 * turn, -0.68, 0.22, 0.09),
            (-0.55, -0.8, 0.15, -0.55),
            (1.0, 1.0, 1.0),
            opacity=0.3,
        )
    else:
        thick = {"short": 0.1, "long": 0.12, "bangs": 0.12, "afro": 0.16}[style]
        parting = d["parting"] + 0.25 * turn

        def cap(u, v):
            h, dh = _hairline(style, u, rx, parting)
            return np.maximum(head(u, v) - thick, (v - h) / np.sqrt(1.0 + dh * dh))

        p.paint(cap, (-1.2, -1.35, 1.2, 0.6), hair, hair_line, line)

    # Glasses: two round rims, a bridge, and arms to the ears.
    if face["glasses"]:
        (xa, fa), (xb, fb) = eyes
        rim = 0.24 * es

        def lenses(u, v):
            return np.minimum(_sd_ellipse(u, v, xa, ey, rim * fa, rim), _sd_ellipse(u, v, xb, ey, rim * fb, rim))

        bbox = (min(xa, xb) - rim - 0.05, ey - rim - 0.05, max(xa, xb) + rim + 0.05, ey + rim + 0.05)
        p.paint(lenses, bbox, (0.75, 0.9, 1.0), opacity=0.25)
        p.paint(lenses, bbox, None, _INK, 0.04)
        left, right = min(xa, xb), max(xa, xb)
        fl, fr = (fa, fb) if xa < xb else (fb, fa)
        p.paint(
            lambda u, v: _sd_segment(u, v, left + rim * fl, ey - 0.03, right - rim * fr, ey - 0.03, 0.018),
            (left, ey - 0.08, right, ey + 0.02),
            _INK,
        )
        for x0, x1 in ((left - rim * fl, -rx + 0.02), (right + rim * fr, rx - 0.02)):
            if (x1 - x0) * (x0 - nose_x) > 0:
                p.paint(
                    lambda u, v, x0=x0, x1=x1: _sd_segment(u, v, x0, ey - 0.03, x1, ey - 0.06, 0.018),
                    (min(x0, x1) - 0.03, ey - 0.1, max(x0, x1) + 0.03, ey + 0.01),
                    _INK,
                )

    return p.to_uint8()


def _check_resolution(resolution: int) -> None:
    r = int(resolution)
    if r != resolution or r < MIN_RESOLUTION or r > MAX_RESOLUTION or r & (r - 1):
        raise ValueError(
            f"toyfaces resolution must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION}, got {resolution}"
        )


def render(index: int, resolution: int) -> tuple[np.ndarray, dict]:
    """Face ``index`` as an [H, W, 3] uint8 image at ``resolution``, and its factors."""
    face = factors(int(index))
    return draw(face, resolution, details(int(index))), face
