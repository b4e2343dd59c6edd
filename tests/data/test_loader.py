import itertools

import numpy as np
import pytest
import torch

from stylegan.data import BadImageError, open_dataset
from stylegan.data.loader import InfiniteLoader, InfiniteSampler, from_uint8
from stylegan.errors import UserError
from tests.data.conftest import make_folder


def take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_each_epoch_is_a_permutation_and_epochs_differ():
    s = InfiniteSampler(10, seed=3)
    stream = take(s, 30)
    epochs = [stream[i : i + 10] for i in range(0, 30, 10)]
    for e in epochs:
        assert sorted(e) == list(range(10))
    assert epochs[0] != epochs[1]
    assert take(InfiniteSampler(10, seed=3), 30) == stream  # deterministic
    assert take(InfiniteSampler(10, seed=4), 10) != epochs[0]
    assert take(InfiniteSampler(10, shuffle=False), 12) == list(range(10)) + [0, 1]
    assert [s.index_at(t) for t in range(30)] == stream


def test_replicas_split_the_global_stream():
    full = take(InfiniteSampler(7, seed=1), 42)
    parts = [take(InfiniteSampler(7, rank=r, num_replicas=3, seed=1), 14) for r in range(3)]
    for r in range(3):
        assert parts[r] == full[r::3]


@pytest.mark.parametrize("start", [0, 5, 13, 100])
def test_sampler_resumes_at_any_position(start):
    full = take(InfiniteSampler(9, rank=1, num_replicas=2, seed=7), 80)
    resumed = take(InfiniteSampler(9, rank=1, num_replicas=2, seed=7, start=start), 10)
    positions = [t for t in range(200) if t % 2 == 1 and t >= start][:10]
    global_stream = take(InfiniteSampler(9, seed=7), 200)
    assert resumed == [global_stream[t] for t in positions]
    assert full == global_stream[1::2][:80]


def test_sampler_state_checks_the_dataset():
    s = InfiniteSampler(10, seed=2, start=4)
    state = s.state_dict()
    assert state == {"position": 4, "seed": 2, "shuffle": True, "dataset_size": 10}
    other = InfiniteSampler(10)
    other.load_state_dict(state)
    assert take(other, 5) == take(s, 5)
    with pytest.raises(UserError, match="dataset has 11 images"):
        InfiniteSampler(11).load_state_dict(state)
    with pytest.raises(ValueError):
        InfiniteSampler(10, rank=2, num_replicas=2)


def test_loader_batches_and_exact_resume():
    ds = open_dataset("toyfaces", 16, size=12, use_labels=True)
    loader = InfiniteLoader(ds, batch_size=5, seed=1)
    images, labels = next(loader)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.shape == (5, ds.label_dim) and labels.dtype == torch.float32
    batches = [next(loader) for _ in range(3)]
    state = loader.state_dict()
    assert state["position"] == 20
    expected = [next(loader) for _ in range(3)]

    resumed = InfiniteLoader(ds, batch_size=5, seed=1)
    resumed.load_state_dict(state)
    for (x, c), (y, d) in zip(expected, (next(resumed) for _ in range(3))):
        assert torch.equal(x, y) and torch.equal(c, d)
    # the batches are the global stream in order
    order = take(InfiniteSampler(12, seed=1), 20)
    got = torch.cat([b[0] for b in batches])
    want = torch.stack([torch.from_numpy(ds[i][0]) for i in order[5:20]])
    assert torch.equal(got, want)


def test_loader_with_workers_and_replicas_matches_in_process():
    ds = open_dataset("toyfaces", 16, size=9)
    a = InfiniteLoader(ds, batch_size=4, rank=1, num_replicas=2, seed=5, num_workers=2)
    b = InfiniteLoader(ds, batch_size=4, rank=1, num_replicas=2, seed=5, num_workers=0)
    for _ in range(3):
        assert torch.equal(next(a)[0], next(b)[0])
    assert a.state_dict()["position"] == 3 * 4 * 2
    a.close()


def corrupt_folder(tmp_path):
    src = make_folder(tmp_path / "imgs", count=4, size=(32, 32))
    victim = src / "00000" / "img00000002.png"
    victim.write_bytes(victim.read_bytes()[:150])
    return src


@pytest.mark.parametrize("workers", [0, 1])
def test_bad_image_stops_the_loader_with_its_name(tmp_path, workers):
    ds = open_dataset(str(corrupt_folder(tmp_path)))
    loader = InfiniteLoader(ds, batch_size=4, num_workers=workers)
    with pytest.raises(BadImageError, match=r"img00000002.png: truncated") as info:
        next(loader)
    assert isinstance(info.value, UserError) and "Traceback" not in str(info.value)


def test_skipped_bad_images_are_reported_once(tmp_path):
    ds = open_dataset(str(corrupt_folder(tmp_path)), on_error="skip")
    seen = []
    loader = InfiniteLoader(ds, batch_size=4, num_workers=1, on_bad_file=lambda n, r: seen.append(n))
    for _ in range(3):
        images, _ = next(loader)
        assert images.shape == (4, 3, 32, 32)
    assert len(seen) == 1 and seen[0].endswith("img00000002.png")
    assert list(loader.bad_files) == seen
    loader.close()


def test_from_uint8_range():
    x = from_uint8(torch.tensor([[[[0, 255, 128]]]], dtype=torch.uint8))
    assert x.dtype == torch.float32
    np.testing.assert_allclose(x.flatten().tolist(), [-1.0, 1.0, 128 / 127.5 - 1], atol=1e-6)
