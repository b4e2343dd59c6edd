"""Linear separability (StyleGAN, Section 4.2), as the official StyleGAN tools compute it.

Attribute classifiers label ``num_samples`` (200k) generated images. For each attribute the
``num_keep`` (100k) samples the classifier is most confident about are kept, a linear SVM
(L2-regularised squared hinge loss, C = 1, the model of ``sklearn.svm.LinearSVC``) is fitted to
predict the classifier's label from the latent z, and separately from w, and the conditional
entropy H(Y|X) of the classifier label Y given the SVM prediction X is measured in bits.
LS = 2^(sum over attributes of H) (= exp of the sum in nats), one score for z and one for w.
Lower is better: 1 means every attribute is linearly separable.

Binary attributes give probabilities [N, 2]; factors with more classes are handled one-vs-rest
(as LinearSVC does), the SVM predicting the class of largest decision value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from stylegan.metrics.ppl import box_downsample
from stylegan.metrics.sampling import LabelFn, eval_copy, progress_bar
from stylegan.models.interface import Generator

Classifier = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def fit_linear_svm(
    x: torch.Tensor, y: torch.Tensor, C: float = 1.0, tol: float = 1e-6, max_iter: int = 100
) -> torch.Tensor:
    """Weights [d + 1] (last entry: the bias) of the L2-regularised squared-hinge linear SVM

        min_w  0.5 |w|^2 + C sum_i max(0, 1 - y_i w.[x_i, 1])^2,   y_i in {-1, +1},

    the objective liblinear minimises for ``LinearSVC`` (bias regularised, intercept_scaling 1),
    solved in the primal by the finite Newton method (Keerthi & DeCoste 2005) in float64.
    """
    x = torch.cat([x.to(torch.float64), torch.ones([x.shape[0], 1], dtype=torch.float64, device=x.device)], dim=1)
    y = y.to(torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    eye = torch.eye(x.shape[1], dtype=torch.float64, device=x.device)

    def objective(w):
        r = (1 - y * (x @ w)).clamp(min=0)
        return 0.5 * w.dot(w) + C * r.square().sum(), r

    f, r = objective(w)
    grad0 = None
    for _ in range(max_iter):
        grad = w - 2 * C * x.T @ (y * r)
        gnorm = grad.norm()
        grad0 = gnorm if grad0 is None else grad0
        if gnorm <= tol * max(grad0, 1.0):
            break
        xa = x[r > 0]
        step = torch.linalg.solve(eye + 2 * C * xa.T @ xa, -grad)
        slope = grad.dot(step)
        alpha = 1.0
        while True:
            f_new, r_new = objective(w + alpha * step)
            if f_new <= f + 1e-4 * alpha * slope or alpha < 1e-10:
                break
            alpha *= 0.5
        w, f, r = w + alpha * step, f_new, r_new
    return w


def svm_predict(x: torch.Tensor, targets: torch.Tensor, num_classes: int, C: float = 1.0) -> torch.Tensor:
    """Fit a linear SVM to (x, targets) and return its predictions on x (LinearSVC semantics:
    one classifier for two classes, one-vs-rest otherwise). A single class present: the
    targets themselves, as the reference does when the SVM cannot be fitted."""
    present = torch.unique(targets)
    if present.numel() < 2:
        return targets.clone()
    if num_classes == 2:
        w = fit_linear_svm(x, torch.where(targets == 1, 1.0, -1.0), C)
        return ((x.to(torch.float64) @ w[:-1] + w[-1]) > 0).to(targets.dtype)
    scores = []
    for k in range(num_classes):
        w = fit_linear_svm(x, torch.where(targets == k, 1.0, -1.0), C)
        scores.append(x.to(torch.float64) @ w[:-1] + w[-1])
    scores = torch.stack(scores, dim=1)
    absent = torch.ones(num_classes, dtype=torch.bool, device=x.device)
    absent[present] = False
    scores[:, absent] = -torch.inf  # classes never seen in training are never predicted
    return scores.argmax(dim=1).to(targets.dtype)


def conditional_entropy(pred: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """H(Y|X) in bits of the joint histogram of X = ``pred`` and Y = ``target`` (>= 0)."""
    p = np.zeros([num_classes, num_classes], np.float64)
    np.add.at(p, (np.asarray(pred), np.asarray(target)), 1)
    p /= p.sum()
    px = p.sum(axis=1, keepdims=True)
    nz = p > 0
    return float(max(0.0, -(p[nz] * np.log2(p[nz] / np.broadcast_to(px, p.shape)[nz])).sum()))


def linear_separability(
    latents: dict[str, np.ndarray],
    probs: dict[str, np.ndarray],
    num_keep: int,
    C: float = 1.0,
    device: str | torch.device = "cpu",
) -> dict:
    """LS scores from latents (e.g. ``{"z": [N, z_dim], "w": [N, w_dim]}``) and attribute
    probabilities ``{attribute: [N, K]}``. Returns ``{"ls_<space>": 2^sum H, "entropies":
    {attribute: {space: H}}}``."""
    entropies: dict[str, dict[str, float]] = {}
    for attr, p in probs.items():
        p = np.asarray(p, np.float64)
        keep = np.argsort(-p.max(axis=1), kind="stable")[:num_keep]
        targets = torch.from_numpy(p[keep].argmax(axis=1)).to(device)
        entropies[attr] = {}
        for space, x in latents.items():
            x = torch.as_tensor(np.asarray(x)[keep]).to(device)
            pred = svm_predict(x, targets, p.shape[1], C)
            entropies[attr][space] = conditional_entropy(pred.cpu().numpy(), targets.cpu().numpy(), p.shape[1])
    result = {f"ls_{space}": float(2 ** sum(e[space] for e in entropies.values())) for space in latents}
    result["entropies"] = entropies
    return result


@torch.no_grad()
def ls_samples(
    G: Generator,
    classifier: Classifier,
    num_samples: int,
    labels: LabelFn,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    progress: bool = False,
):
    """Random z, their w (the last of the ws) and the classifier's probabilities on the images
    (random noise; box-downsampled to 256 when larger, as for the official classifiers)."""
    G = eval_copy(G, device)
    zs, ws = [], []
    probs: dict = {}
    bar = progress_bar(num_samples, "ls", progress)
    done = 0
    while done < num_samples:
        n = min(batch_size, num_samples - done)
        z = torch.randn([n, G.z_dim], device=device)
        w = G.mapping(z, labels(n))
        img = G.synthesis(w)
        img = box_downsample(img, img.shape[2] // 256)
        for name, p in classifier(img).items():
            probs.setdefault(name, []).append(p.to(torch.float64).cpu())
        zs.append(z.cpu())
        ws.append(w[:, -1].cpu())
        done += n
        bar.update(n)
    bar.close()
    latents = {"z": torch.cat(zs).numpy(), "w": torch.cat(ws).numpy()}
    return latents, {k: torch.cat(v).numpy() for k, v in probs.items()}
