"""Edits and inversions measured with the toyfaces probe (issue 17; tables in docs/editing.md).

    OMP_NUM_THREADS=1 python benchmarks/editing.py --network toyfaces-stylegan2-32 \
        --out benchmarks/results/editing-toyfaces-stylegan2-32.json

Edits (``stylegan.editing.evaluate``): for every toyfaces factor (binary and continuous factors,
and every class of the categorical ones), each method's direction is applied at a fixed strength
(``--strength`` standard deviations) to ``--test`` held-out samples; ``target`` is the rate at which
the probe's prediction of the factor changes as asked, ``preserved`` the mean over the other
factors of the rate at which their prediction stays the same.

- InterFaceGAN: SVM in W on the 2 % most and least confident of ``--samples`` samples (probe scores);
  also conditioned (Eq. 4) on the two directions whose edits disturb the most other factors.
- GANSpace, SeFa: ``--components`` unsupervised directions; for each factor the component (and sign)
  with the highest target x preserved rate on a separate selection set of samples is reported.
- StyleSpace: the 20 highest and 20 lowest scored of 2,000 samples are the examples; the most
  specific channel is the direction (the method knows its attribute: no selection).

Layers (``--parts layers``): InterFaceGAN applied to a span of resolutions only, with the span and
the strength chosen per factor on the selection set (the highest min(target, preserved)).

Inversion (``--images`` held-out toyfaces, indices from 1,000,000, never in a training set): W and
W+ projection (probe distance, ``--project-steps``) and PTI from the W pivot (``--pti-steps``):
MSE, probe distance, probe-factor agreement between target and reconstruction, and editability: the
InterFaceGAN smile edit applied to the inversion (target flipped, other factors kept).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import stylegan
from stylegan.data import toyfaces
from stylegan.editing import directions as D
from stylegan.editing.edit import EditInputs
from stylegan.editing.evaluate import FACTOR_KIND, edit_predictions, measure_edit, predictions, score_edit, unchanged
from stylegan.editing.pti import pivotal_tuning, reconstruction_errors
from stylegan.metrics.probe import load_probe
from stylegan.tools.generate import synthesize
from stylegan.tools.project import project, resolve_distance


def factor_targets() -> list[str]:
    out = []
    for f in toyfaces.FACTORS:
        out += [f"{f.name}={v}" for v in f.values] if f.kind == "categorical" else [f.name]
    return out


def score_of(logits: dict[str, torch.Tensor], factor: str) -> torch.Tensor:
    name, _, value = factor.partition("=")
    o = logits[name]
    if FACTOR_KIND[name] == "continuous":
        return o
    if FACTOR_KIND[name] == "binary":
        return o[:, 1] - o[:, 0]
    k = [str(v) for f in toyfaces.FACTORS if f.name == name for v in f.values].index(value)
    return o[:, k] - torch.cat([o[:, :k], o[:, k + 1 :]], dim=1).amax(dim=1)


def inputs_of(G, seed: int, n: int) -> EditInputs:
    z, w = D.sample_latents(G, n, seed=seed)
    return EditInputs(w[:, None].expand(-1, G.num_ws, -1).contiguous(), z)


@torch.no_grad()
def logits_of(G, probe, ws: torch.Tensor) -> dict[str, torch.Tensor]:
    parts = [probe.model(synthesize(G, ws[i : i + 1000])) for i in range(0, ws.shape[0], 1000)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def component_predictions(G, probe, sets, direction, strength):
    """Per vector of ``direction``, the (before, plus, minus) predictions on each input set."""
    return [
        [edit_predictions(G, probe, inputs, direction, i, strength) for inputs in sets] for i in range(len(direction))
    ]


def best_of(preds, direction, factor, strength):
    """The vector and sign of ``direction`` with the highest target rate x preserved rate on the
    selection set (the first set of ``preds``), scored on the test set (the second)."""

    def quality(score):
        return score.target * score.preserved

    candidates = [
        (quality(score_edit(*preds[i][0], factor, strength, sign)), i, sign)
        for i in range(len(direction))
        for sign in (1.0, -1.0)
    ]
    _, i, sign = max(candidates)
    return {"vector": direction.names[i], "sign": sign, **score_edit(*preds[i][1], factor, strength, sign).as_dict()}


def measure_edits(G, probe, args) -> dict:
    t0 = time.perf_counter()
    fp = D.network_fingerprint(G)
    train = inputs_of(G, 0, args.samples)
    logits = logits_of(G, probe, train.ws)
    select, test = inputs_of(G, 2, args.select), inputs_of(G, 1, args.test)
    a = args.strength
    results: dict[str, dict] = {
        "interfacegan": {},
        "interfacegan_conditioned": {},
        "ganspace": {},
        "sefa": {},
        "stylespace": {},
    }
    found = {}
    for factor in factor_targets():
        d = D.interfacegan(train.ws[:, 0], score_of(logits, factor), keep=0.02, name=factor, fingerprint=fp)
        found[factor] = d
        results["interfacegan"][factor] = measure_edit(G, probe, test, d, 0, factor, a).as_dict()
        print(
            f"interfacegan {factor}: {results['interfacegan'][factor]['target']:.3f} / "
            f"{results['interfacegan'][factor]['preserved']:.3f}",
            flush=True,
        )
    binary = [f.name for f in toyfaces.FACTORS if f.kind != "categorical"]
    for factor in binary:  # condition on the two other binary/continuous factors it disturbs most
        per = results["interfacegan"][factor]["per_factor"]
        worst = sorted((k for k in per if k in binary), key=lambda k: per[k])[:2]
        d = D.conditioned(found[factor], [found[k] for k in worst], G)
        r = measure_edit(G, probe, test, d, 0, factor, a).as_dict()
        results["interfacegan_conditioned"][factor] = {"conditioned_on": worst, **r}
    for name, direction in (
        ("ganspace", D.find_ganspace(G, args.samples, args.components)),
        ("sefa", D.sefa(G, None, args.components)),
    ):
        preds = component_predictions(G, probe, (select, test), direction, a)
        for factor in factor_targets():
            results[name][factor] = best_of(preds, direction, factor, a)
        print(f"{name} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    pool = inputs_of(G, 3, 2000)  # StyleSpace: S and scores of 2,000 samples, the examples among them
    styles, pool_logits = D.sample_styles(G, pool.ws), logits_of(G, probe, pool.ws)
    for factor in factor_targets():
        order = torch.argsort(score_of(pool_logits, factor), stable=True)
        ss = D.stylespace(styles, styles[order[-20:]], styles[order[:20]], G, 1, factor, fp)
        results["stylespace"][factor] = {
            "vector": ss.names[0],
            **measure_edit(G, probe, test, ss, 0, factor, a).as_dict(),
        }
        print(
            f"{factor}: ganspace {results['ganspace'][factor]['target']:.3f}, "
            f"sefa {results['sefa'][factor]['target']:.3f}, "
            f"stylespace {results['stylespace'][factor]['target']:.3f}",
            flush=True,
        )
    return {
        "strength": a,
        "samples": args.samples,
        "test": args.test,
        "select": args.select,
        "components": args.components,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def measure_activations(G, probe, args) -> dict:
    """GANSpace on the activations of ``--activations`` (regressed back to W), scored like GANSpace on w."""
    t0 = time.perf_counter()
    select, test = inputs_of(G, 2, args.select), inputs_of(G, 1, args.test)
    direction = D.find_ganspace_activations(G, args.activations, 2000, args.components)
    preds = component_predictions(G, probe, (select, test), direction, args.strength)
    results = {factor: best_of(preds, direction, factor, args.strength) for factor in factor_targets()}
    return {
        "layer": direction.info["layer"],
        "strength": args.strength,
        "test": args.test,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def layer_ranges(num_ws: int) -> list[list[int]]:
    """Every span of whole resolutions (pairs of ws: 0-1, 0-3, ..., 2-3, ...), the last one to the end."""
    starts = range(0, num_ws, 2)
    ends = [min(b + 1, num_ws - 1) for b in starts]
    return [list(range(a, b + 1)) for a in starts for b in ends if b >= a]


def measure_layers(G, probe, args) -> dict:
    """InterFaceGAN with a layer range and strength per factor: for each factor the (range, strength) of
    ``layer_ranges`` x ``--layer-strengths`` with the highest min(target, preserved) on the selection
    set, scored on the test set next to the plain edit (all layers, ``--strength``)."""
    t0 = time.perf_counter()
    fp = D.network_fingerprint(G)
    train = inputs_of(G, 0, args.samples)
    logits = logits_of(G, probe, train.ws)
    select, test = inputs_of(G, 2, args.select), inputs_of(G, 1, args.test)
    strengths = [float(a) for a in args.layer_strengths.split(",")]
    results = {}
    for factor in factor_targets():
        d = D.interfacegan(train.ws[:, 0], score_of(logits, factor), keep=0.02, name=factor, fingerprint=fp)
        candidates = []
        for layers in layer_ranges(G.num_ws):
            for a in strengths:
                score = score_edit(*edit_predictions(G, probe, select, d, 0, a, layers), factor, a)
                candidates.append((min(score.target, score.preserved), -len(candidates), layers, a))
        _, _, layers, a = max(candidates)
        chosen = measure_edit(G, probe, test, d, 0, factor, a, layers)
        plain = measure_edit(G, probe, test, d, 0, factor, args.strength)
        results[factor] = {
            "layers": layers,
            "strength": a,
            "target": round(chosen.target, 4),
            "preserved": round(chosen.preserved, 4),
            "plain": {"target": round(plain.target, 4), "preserved": round(plain.preserved, 4)},
        }
        print(
            f"{factor}: layers {layers[0]}-{layers[-1]} x {a:g}: {chosen.target:.2f} / {chosen.preserved:.2f} "
            f"(plain {plain.target:.2f} / {plain.preserved:.2f})",
            flush=True,
        )
    return {
        "ranges": layer_ranges(G.num_ws),
        "strengths": strengths,
        "select": args.select,
        "test": args.test,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def agreement(probe, a: torch.Tensor, b: torch.Tensor) -> float:
    pa, pb = predictions(probe, a), predictions(probe, b)
    return sum(float(unchanged(pa, pb, k).float().mean()) for k in pa) / len(pa)


def measure_inversion(G, probe, smile: D.Direction, args) -> dict:
    t0 = time.perf_counter()
    dist = resolve_distance("probe")
    fp = D.network_fingerprint(G)
    rows = {"w": [], "w+": [], "pti": []}
    for i in range(args.images):
        img, _ = toyfaces.render(1_000_000 + i, G.img_resolution)
        target = torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1
        rw = project(G, img, distance=dist, num_steps=args.project_steps, w_avg_samples=2000, seed=i)
        rp = project(G, img, distance=dist, num_steps=args.project_steps, w_plus=True, w_avg_samples=2000, seed=i)
        pivot, wplus = rw.ws(), rp.w[None]
        tuned = pivotal_tuning(
            G, img, pivot, distance=dist, num_steps=args.pti_steps, learning_rate=args.pti_lr, seed=i
        )
        for name, net, ws in (("w", G, pivot), ("w+", G, wplus), ("pti", tuned.G, pivot)):
            errors = reconstruction_errors(net, ws, img, dist)
            with torch.no_grad():
                rec = synthesize(net, ws)
            edit = measure_edit(net, probe, EditInputs(ws), smile, 0, "smile", args.strength, origins=(fp,))
            rows[name].append(
                {
                    "image": 1_000_000 + i,
                    **errors,
                    "agreement": agreement(probe, target[None], rec),
                    "edit_target": edit.target,
                    "edit_preserved": edit.preserved,
                }
            )
        print(f"image {i}: " + ", ".join(f"{k} mse {v[-1]['mse']:.4f}" for k, v in rows.items()), flush=True)
    summary = {
        k: {m: sum(r[m] for r in v) / len(v) for m in ("mse", "distance", "agreement", "edit_target", "edit_preserved")}
        for k, v in rows.items()
    }
    return {
        "images": args.images,
        "project_steps": args.project_steps,
        "pti_steps": args.pti_steps,
        "pti_lr": args.pti_lr,
        "mean": summary,
        "per_image": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--network", default="toyfaces-stylegan2-32")
    p.add_argument("--out", default="benchmarks/results/editing-toyfaces-stylegan2-32.json")
    p.add_argument("--strength", type=float, default=3.0)
    p.add_argument("--samples", type=int, default=10_000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--select", type=int, default=200)
    p.add_argument("--components", type=int, default=10)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--project-steps", type=int, default=300)
    p.add_argument("--pti-steps", type=int, default=350)
    p.add_argument("--pti-lr", type=float, default=3e-4)
    p.add_argument("--activations", default="b8.conv1", help="Layer of the activation-space GANSpace part.")
    p.add_argument("--layer-strengths", default="2,3,4,6", help="Strengths the layers part chooses from.")
    p.add_argument("--parts", default="inversion,edits", help="What to measure: inversion, edits, activations, layers.")
    args = p.parse_args()
    torch.set_num_threads(1)
    G = stylegan.load(args.network).eval()
    probe = load_probe()
    out = {"network": args.network, "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} thread"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)

    def write():
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.out}", flush=True)

    fp = D.network_fingerprint(G)
    _, w = D.sample_latents(G, args.samples, seed=0)
    smile_scores = score_of(logits_of(G, probe, w[:, None].expand(-1, G.num_ws, -1)), "smile")
    smile = D.interfacegan(w, smile_scores, keep=0.02, name="smile", fingerprint=fp)
    if "inversion" in args.parts:
        out["inversion"] = measure_inversion(G, probe, smile, args)
        write()
    if "activations" in args.parts:
        out["ganspace_activations"] = measure_activations(G, probe, args)
        write()
    if "edits" in args.parts:
        out["edits"] = measure_edits(G, probe, args)
        write()
    if "layers" in args.parts:
        out["interfacegan_layers"] = measure_layers(G, probe, args)
        write()


if __name__ == "__main__":
    main()
