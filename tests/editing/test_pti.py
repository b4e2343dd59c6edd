import torch

from stylegan.editing.edit import inputs_from_seeds
from stylegan.editing.pti import pivotal_tuning, reconstruction_errors
from stylegan.tools.generate import synthesize


def test_pti_fits_the_target_and_leaves_the_network_alone(G8):
    target = synthesize(G8, inputs_from_seeds(G8, [7]).ws)[0].detach()
    pivot = inputs_from_seeds(G8, [8]).ws  # another sample's w: the network must move to fit
    before = reconstruction_errors(G8, pivot, target)["mse"]
    params = [p.clone() for p in G8.parameters()]
    result = pivotal_tuning(G8, target, pivot, num_steps=25, learning_rate=5e-3, seed=0)
    after = reconstruction_errors(result.G, pivot, target)["mse"]
    assert after < 0.5 * before
    assert result.reconstruction[-1] < result.reconstruction[0] and len(result.locality) == 25
    assert all(torch.equal(a, b) for a, b in zip(params, G8.parameters()))  # the caller's network is untouched
    assert torch.equal(result.pivot, pivot)


def test_the_locality_regulariser_keeps_distant_latents(G8):
    target = synthesize(G8, inputs_from_seeds(G8, [7]).ws)[0].detach()
    pivot = inputs_from_seeds(G8, [8]).ws
    far = inputs_from_seeds(G8, list(range(20, 36))).ws

    def drift(G):
        return float((synthesize(G, far) - synthesize(G8, far)).square().mean())

    free = pivotal_tuning(
        G8, target, pivot, num_steps=25, learning_rate=5e-3, locality_distance_weight=0, locality_l2_weight=0
    )
    local = pivotal_tuning(
        G8,
        target,
        pivot,
        num_steps=25,
        learning_rate=5e-3,
        locality_distance_weight=10,
        locality_l2_weight=10,
        locality_alpha=3.0,
    )
    assert drift(local.G) < 0.7 * drift(free.G)
    assert all(v == 0 for v in free.locality)
