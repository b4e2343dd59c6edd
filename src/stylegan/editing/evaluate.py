"""How well an edit works, measured with the toyfaces probe (target change against preservation, as
InterFaceGAN Section 3.2 and e4e Section 5 measure edits).

For an edit of fixed strength along a direction, on held-out samples:

- ``target``: the fraction of samples whose predicted target factor changes the way the edit asks.
  Binary factors and ``name=value`` classes: every sample is pushed towards the other value (the
  ones that have it backwards), and it counts when the prediction becomes that value. Continuous
  factors (yaw, roll): pushed towards the opposite sign, it counts when the predicted sign flips.
- ``preserved``: per other factor, the fraction of samples whose prediction stays as it was
  (continuous factors: within ``CONTINUOUS_TOLERANCE``); ``preserved`` is their mean over the
  other factors, ``preserved_min`` the worst one.

A direction's sign is taken from the direction itself for supervised methods (positive = towards
the attribute); for unsupervised ones (GANSpace, SeFa components) ``score_edit`` takes either sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stylegan.data.toyfaces import FACTORS
from stylegan.editing.directions import Direction
from stylegan.editing.edit import EditInputs, render_edits

CONTINUOUS_TOLERANCE = 0.25  # a quarter of a continuous factor's range [-1, 1]
FACTOR_KIND = {f.name: f.kind for f in FACTORS}


def predictions(probe, images: torch.Tensor, batch_size: int = 500) -> dict[str, torch.Tensor]:
    """The probe's predicted class (categorical, binary) or value (continuous) per factor."""
    parts = [probe.predict(images[i : i + batch_size]) for i in range(0, images.shape[0], batch_size)]
    return {k: torch.cat([p[k] for p in parts]).cpu() for k in parts[0]}


def _target_class(factor: str) -> tuple[str, int | None]:
    name, _, value = factor.partition("=")
    if not value:
        return name, None
    values = [str(v) for f in FACTORS if f.name == name for v in f.values]
    return name, values.index(value)


def push_signs(before: dict[str, torch.Tensor], factor: str) -> torch.Tensor:
    """+1 where the edit must push towards the attribute (it is absent), -1 where away (it is present)."""
    name, k = _target_class(factor)
    pred = before[name]
    if FACTOR_KIND[name] == "continuous":
        return torch.where(pred > 0, -1.0, 1.0)
    present = pred == (1 if k is None else k)
    return torch.where(present, -1.0, 1.0)


def target_changed(before: dict, after: dict, factor: str, signs: torch.Tensor) -> torch.Tensor:
    name, k = _target_class(factor)
    if FACTOR_KIND[name] == "continuous":
        return torch.sign(after[name]) == signs
    wanted = torch.where(signs > 0, 1 if k is None else k, -1)  # towards: the class; away: any other class
    towards = after[name] == wanted
    away = after[name] != (1 if k is None else k)
    return torch.where(signs > 0, towards, away)


def unchanged(before: dict, after: dict, name: str) -> torch.Tensor:
    if FACTOR_KIND[name] == "continuous":
        return (after[name] - before[name]).abs() < CONTINUOUS_TOLERANCE
    return after[name] == before[name]


@dataclass
class EditScore:
    factor: str
    strength: float
    target: float
    preserved: float
    preserved_min: float
    per_factor: dict[str, float]
    samples: int

    def as_dict(self) -> dict:
        return {
            "factor": self.factor,
            "strength": self.strength,
            "target": round(self.target, 4),
            "preserved": round(self.preserved, 4),
            "preserved_min": round(self.preserved_min, 4),
            "per_factor": {k: round(v, 4) for k, v in self.per_factor.items()},
            "samples": self.samples,
        }


def score_edit(before: dict, plus: dict, minus: dict, factor: str, strength: float, sign: float = 1.0) -> EditScore:
    """``EditScore`` from the predictions of the samples as they are (``before``) and edited by
    +strength (``plus``) and -strength (``minus``): each sample takes the edit that pushes it the
    way it must go; ``sign`` -1 when the direction's positive side means less of the factor."""
    signs = push_signs(before, factor)
    name = factor.partition("=")[0]
    take_plus = (signs * sign) > 0
    after = {k: torch.where(take_plus, plus[k], minus[k]) for k in before}
    changed = target_changed(before, after, factor, signs)
    kept = {k: float(unchanged(before, after, k).float().mean()) for k in before if k != name}
    return EditScore(
        factor,
        strength,
        float(changed.float().mean()),
        sum(kept.values()) / len(kept),
        min(kept.values()),
        kept,
        int(signs.shape[0]),
    )


@torch.no_grad()
def edit_predictions(
    G,
    probe,
    inputs: EditInputs,
    direction: Direction,
    index: int | str,
    strength: float,
    layers: list[int] | None = None,
    origins: tuple[str, ...] = (),
) -> tuple[dict, dict, dict]:
    """Probe predictions of the inputs unedited, edited by +strength and by -strength."""
    images = render_edits(G, inputs, direction, index, [0.0, strength, -strength], layers, origins=origins)
    return tuple(predictions(probe, images[:, j]) for j in range(3))


@torch.no_grad()
def measure_edit(
    G,
    probe,
    inputs: EditInputs,
    direction: Direction,
    index: int | str,
    factor: str,
    strength: float,
    layers: list[int] | None = None,
    sign: float = 1.0,
    origins: tuple[str, ...] = (),
) -> EditScore:
    """``EditScore`` of editing ``inputs`` along vector ``index`` by ``strength`` towards (or, where
    the sample has it, away from) ``factor``. ``sign`` flips the direction."""
    before, plus, minus = edit_predictions(G, probe, inputs, direction, index, strength, layers, origins)
    return score_edit(before, plus, minus, factor, strength, sign)
