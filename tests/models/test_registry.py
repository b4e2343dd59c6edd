"""A config read from a file is checked before it builds anything: every field of every network
with hostile values either builds a network or raises ConfigError, never anything else."""

import json

import pytest

from stylegan.errors import ConfigError
from stylegan.models import build_preset
from stylegan.models.registry import build, config_to_dict

HOSTILE_VALUES = [0, 3, 2**40, -1, 0.5, float("nan"), None, "x", True, [1, 2, 1], {"a": 1}]


def _fields(config: dict, prefix=()):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _fields(value, prefix + (key,))
        else:
            yield prefix + (key,)


def _with(config: dict, field, value) -> dict:
    config = json.loads(json.dumps(config))
    inner = config
    for key in field[:-1]:
        inner = inner[key]
    inner[field[-1]] = value
    return config


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on NaN or zero filter parameters
@pytest.mark.parametrize("preset", ["stylegan1-pin", "stylegan2", "stylegan3-r"])
def test_hostile_config_values_build_or_raise_config_error(preset, one_thread):
    spec = build_preset(preset, 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8)
    for kind, config in ((spec.G_kind, spec.G), (spec.D_kind, spec.D)):
        data = config_to_dict(config)
        assert build(kind, data).config == config
        for field in _fields(data):
            for value in HOSTILE_VALUES:
                try:
                    build(kind, _with(data, field, value), max_elements=10**6)
                except ConfigError:
                    pass
        for not_an_object in ([1, 2], None, "config", 3):
            with pytest.raises(ConfigError, match="JSON object"):
                build(kind, not_an_object)


def test_max_elements_stops_a_build_before_it_allocates(one_thread):
    spec = build_preset("stylegan2", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8)
    huge = dict(config_to_dict(spec.G), w_dim=2**20)  # a 2^40-element mapping layer: 4 TiB
    with pytest.raises(ConfigError, match="more than 1,000,000 tensor elements"):
        build(spec.G_kind, huge, max_elements=10**6)
    with pytest.raises(ConfigError, match="must be at most 64"):
        build(spec.G_kind, _with(config_to_dict(spec.G), ("mapping", "num_layers"), 2**40))
