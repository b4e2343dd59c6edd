import numpy as np
import pytest
import scipy.optimize
import torch

from stylegan.metrics.linear_separability import (
    conditional_entropy,
    fit_linear_svm,
    linear_separability,
    svm_predict,
)


def test_svm_solves_the_linearsvc_objective():
    torch.manual_seed(0)
    x = torch.randn(300, 4)
    y = torch.where(x[:, 0] - x[:, 2] + 0.7 * torch.randn(300) > 0, 1.0, -1.0)
    w = fit_linear_svm(x, y).numpy()
    xa = np.c_[x.numpy().astype(np.float64), np.ones(300)]
    ya = y.numpy().astype(np.float64)

    def f(v):
        return 0.5 * v @ v + np.sum(np.maximum(0, 1 - ya * (xa @ v)) ** 2)

    def g(v):
        return v - 2 * xa.T @ (ya * np.maximum(0, 1 - ya * (xa @ v)))

    ref = scipy.optimize.minimize(f, np.zeros(5), jac=g, method="L-BFGS-B", options=dict(gtol=1e-12, ftol=1e-15))
    np.testing.assert_allclose(w, ref.x, atol=1e-5)


def test_svm_multiclass_one_vs_rest_and_single_class():
    torch.manual_seed(1)
    centers = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    targets = torch.arange(3).repeat_interleave(30)
    x = centers[targets] + 0.5 * torch.randn(90, 2)
    assert torch.equal(svm_predict(x, targets, 3), targets)
    same = torch.zeros(10, dtype=torch.long)
    assert torch.equal(svm_predict(torch.randn(10, 2), same, 2), same)


def test_conditional_entropy_known_values():
    target = np.array([0, 1] * 500)
    assert conditional_entropy(target, target, 2) == 0.0
    flipped = target.copy()
    flipped[:100] = 1 - flipped[:100]  # 10% errors, balanced
    h = -(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9))
    assert conditional_entropy(flipped, target, 2) == pytest.approx(h, abs=1e-9)
    assert conditional_entropy(np.zeros(1000, int), target, 2) == pytest.approx(1.0)  # a useless predictor


def test_separable_in_z_not_in_w():
    # The attribute is sign(z . v): linear in z. w = |z| forgets signs: not separable in w.
    rng = np.random.default_rng(0)
    z = rng.standard_normal([1200, 6])
    score = z @ np.array([1.0, -1, 0.5, 0, 0, 0])
    p = 1 / (1 + np.exp(-4 * score))
    result = linear_separability({"z": z, "w": np.abs(z)}, {"attr": np.stack([1 - p, p], 1)}, num_keep=600)
    assert result["ls_z"] < 1.1
    assert result["ls_w"] > 1.7
    assert set(result["entropies"]["attr"]) == {"z", "w"}


def test_least_confident_samples_are_dropped():
    # Confident samples follow a linear rule; unconfident ones carry random labels. Keeping only
    # the confident half leaves a perfectly separable problem.
    rng = np.random.default_rng(1)
    z = rng.standard_normal([400, 3])
    confident = np.arange(400) < 200
    label = np.where(confident, z[:, 0] > 0, rng.random(400) < 0.5)
    conf = np.where(confident, 0.99, 0.55)
    p1 = np.where(label, conf, 1 - conf)
    probs = {"a": np.stack([1 - p1, p1], 1)}
    # (a few margin points may be misclassified by the soft-margin SVM, hence not exactly 1)
    assert linear_separability({"z": z}, probs, num_keep=200)["ls_z"] < 1.1
    assert linear_separability({"z": z}, probs, num_keep=400)["ls_z"] > 1.3
