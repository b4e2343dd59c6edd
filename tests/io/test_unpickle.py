"""The restricted unpickler: only each format's globals, nothing executed, clear errors."""

import collections
import pathlib
import pickle

import numpy as np
import pytest
import torch

from stylegan.errors import CheckpointError
from stylegan.io import load_network
from stylegan.io.unpickle import (
    ALLOWED_GLOBALS,
    load_official_snapshot,
    load_tf_pickle,
    restricted_load,
    scan_globals,
)
from tests.conftest import reference_file
from tests.io.malicious import (
    Payload,
    fake_official_modules,
    protocol0_call,
    protocol4_call,
    snapshot_with,
    tf_pickle_with,
)

# What ../shared/reference/README.md lists for each file.
SNAPSHOT_GLOBALS = {
    "torch_utils.persistence._reconstruct_persistent_obj",
    "dnnlib.util.EasyDict",
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch.storage._load_from_bytes",
    "numpy.dtype",
    "numpy._core.multiarray.scalar",
}
TF_GLOBALS = {
    "dnnlib.tflib.network.Network",
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy.ndarray",
    "numpy.dtype",
}


def scan(path):
    with open(path, "rb") as f:
        return set(scan_globals(f))


def test_scan_finds_exactly_the_globals_the_reference_files_use():
    assert scan(reference_file("sg2_snapshot_sanitized.pkl")) == SNAPSHOT_GLOBALS
    assert scan(reference_file("sg3_snapshot_sanitized.pkl")) == SNAPSHOT_GLOBALS | {
        "numpy._core.multiarray._reconstruct",
        "numpy.ndarray",
    }
    for name in ("tf_sg2.pkl", "sg1_A.pkl", "sg1_B.pkl"):
        assert scan(reference_file(name)) == TF_GLOBALS
    assert SNAPSHOT_GLOBALS <= set(ALLOWED_GLOBALS["official-snapshot"])
    assert TF_GLOBALS <= set(ALLOWED_GLOBALS["tensorflow"])


def test_snapshot_is_read_as_data_without_official_code():
    nets = load_official_snapshot(reference_file("sg2_snapshot_sanitized.pkl"))
    assert sorted(nets) == ["D", "G", "G_ema"]
    assert nets["G"]["class_name"] == "networks_stylegan2.Generator"
    assert nets["D"]["class_name"] == "networks_stylegan2.Discriminator"
    assert nets["G"]["init_kwargs"]["mapping_kwargs"] == {"num_layers": 2}  # EasyDict -> dict
    assert type(nets["G"]["init_kwargs"]["mapping_kwargs"]) is dict
    w = nets["G"]["state_dict"]["synthesis.b4.conv1.weight"]
    assert type(w) is torch.Tensor and w.dtype == torch.float32 and not w.requires_grad


def test_tf_pickle_is_read_as_data():
    G, D, Gs = load_tf_pickle(reference_file("tf_sg2.pkl"))
    assert (G.name, D.name, Gs.name) == ("G", "D", "Gs")
    assert G.version == 4 and G.build_func_name == "G_main" and list(G.components) == ["synthesis", "mapping"]
    assert G.components["synthesis"].build_func_name == "G_synthesis_stylegan2"
    assert list(G.variables) == ["lod", "dlatent_avg"]
    strength = G.components["synthesis"].variables["4x4/Conv/noise_strength"]
    assert isinstance(strength, np.ndarray) and strength.shape == () and strength.dtype == np.float32
    assert G.static_kwargs["resample_kernel"] == [1, 3, 3, 1]
    g1, _, _ = load_tf_pickle(reference_file("sg1_A.pkl"))
    assert g1.version == 3 and g1.build_func_name == "G_style"


HOSTILE_GLOBALS = [
    ("os", "system"),
    ("posix", "system"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("subprocess", "call"),
    # allowed-looking but not on the lists:
    ("torch", "load"),
    ("dnnlib.util", "call_func_by_name"),
    ("numpy.testing._private.utils", "runstring"),
    ("torch_utils.persistence", "import_hook"),
]


@pytest.mark.parametrize("writer", [protocol0_call, protocol4_call])
@pytest.mark.parametrize("module,name", HOSTILE_GLOBALS)
def test_hostile_globals_are_refused_by_name_and_never_run(tmp_path, writer, module, name):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(writer(module, name, f"touch {marker}"))
    for load in (load_network, load_official_snapshot, load_tf_pickle):
        with pytest.raises(CheckpointError, match=f"'{module}.{name}'") as e:
            load(path)
        assert "nothing from it was executed" in str(e.value)
    assert not marker.exists()


def test_the_hostile_payload_is_live(tmp_path):
    """Control: plain pickle runs the same kind of payload (so the refusals above are real)."""
    marker = tmp_path / "ran"
    data = protocol4_call("builtins", "eval", f"open({str(marker)!r}, 'w').close()")
    pickle.loads(data)
    assert marker.exists()
    path = tmp_path / "evil.pkl"
    marker.unlink()
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="'builtins.eval'"):
        load_network(path)
    assert not marker.exists()


@pytest.mark.parametrize("fmt,writer", [("official-snapshot", snapshot_with), ("tensorflow", tf_pickle_with)])
def test_payload_nested_in_a_valid_structure_is_refused_before_anything_runs(tmp_path, fmt, writer):
    marker = tmp_path / "pwned"
    path = writer(Payload(pathlib.Path.touch, marker), tmp_path)
    with fake_official_modules():
        pickle.loads(path.read_bytes())  # control: the payload is live
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError, match="'pathlib.Path.touch'"):
        load_network(path)
    # The second gate alone (find_class, without the opcode scan) refuses it too.
    with pytest.raises(CheckpointError, match="'pathlib.Path.touch'"):
        restricted_load(path, fmt, scan=False)
    assert not marker.exists()


def test_the_well_formed_hand_made_files_load(tmp_path):
    """The same writers without a payload produce files the loader accepts (the refusals above are
    about the payload, not about the hand-made structure)."""
    nets = load_official_snapshot(snapshot_with("harmless", tmp_path))
    assert torch.equal(nets["G"]["state_dict"]["fc.weight"], torch.ones(2, 2))
    G, D, Gs = load_tf_pickle(tf_pickle_with("harmless", tmp_path))
    assert D.static_kwargs["evil"] == "harmless" and np.array_equal(G.variables["w"], np.ones(2))


def test_protocol_3_snapshots_of_the_python_3_7_era_load(tmp_path):
    """Python 3.7 (StyleGAN2-ADA-PyTorch releases) pickles with protocol 3: sets become builtins.set calls."""
    import torch as th

    from tests.io.malicious import PersistentRecord

    with fake_official_modules() as fake:
        layer = PersistentRecord(
            fake,
            "Generator",
            {
                "_parameters": collections.OrderedDict(weight=th.nn.Parameter(th.arange(6.0).view(2, 3))),
                "_buffers": collections.OrderedDict(mask=th.ones(3), scratch=th.zeros(1)),
                "_non_persistent_buffers_set": {"scratch"},
                "_modules": collections.OrderedDict(),
                "_init_args": (4, 0),
                "_init_kwargs": {"w_dim": 8, "size": np.int64(3)},
            },
        )
        data = pickle.dumps({"G": layer, "D": None, "G_ema": layer}, protocol=3)
    path = tmp_path / "ada.pkl"
    path.write_bytes(data)
    assert "builtins.set" in scan(path)
    nets = load_official_snapshot(path)
    assert sorted(nets["G"]["state_dict"]) == ["mask", "weight"]
    assert th.equal(nets["G"]["state_dict"]["weight"], th.arange(6.0).view(2, 3))
    assert nets["G"]["init_kwargs"] == {"w_dim": 8, "size": 3, "z_dim": 4, "c_dim": 0}


def test_globals_of_another_format_are_refused(tmp_path):
    """Tensor rebuilders are fine in a PyTorch snapshot but not inside a TensorFlow pickle."""
    path = tf_pickle_with(torch.zeros(2), tmp_path)
    with pytest.raises(CheckpointError, match="'torch._utils._rebuild_tensor_v2'"):
        load_tf_pickle(path)


def test_computed_global_names_extension_codes_and_persistent_ids_are_refused(tmp_path):
    computed = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94)0\x93."  # strings, then EMPTY_TUPLE POP, STACK_GLOBAL
    cases = {"computed": computed, "extension codes": b"\x80\x02\x82\x01.", "persistent ids": b"\x80\x02K\x01Q."}
    for message, data in cases.items():
        path = tmp_path / "odd.pkl"
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=message):
            load_network(path)


def test_pickles_of_something_else_are_not_networks(tmp_path):
    path = tmp_path / "dict.pkl"
    path.write_bytes(pickle.dumps(collections.OrderedDict(a=1)))
    with pytest.raises(CheckpointError, match="not an official StyleGAN network pickle"):
        load_network(path)


def test_unsupported_tf_versions_are_refused(tmp_path):
    with fake_official_modules() as fake:
        state = dict(
            version=2,
            name="G",
            static_kwargs={},
            components={},
            build_module_src="",
            build_func_name="G_main",
            variables=[],
        )
        path = tmp_path / "old.pkl"
        path.write_bytes(pickle.dumps((fake.Network(state),) * 3, protocol=4))
    with pytest.raises(CheckpointError, match="version 2"):
        load_tf_pickle(path)


def test_version_5_records_with_their_extra_keys_load(tmp_path):
    """StyleGAN2-ADA TensorFlow files (version 5) add input/output shapes and names to each record."""
    with fake_official_modules() as fake:

        def net(name):
            return fake.Network(
                dict(
                    version=5,
                    name=name,
                    static_kwargs={},
                    components={},
                    build_module_src="",
                    build_func_name="D_main",
                    variables=[("lod", np.float32(0.0))],
                    input_shapes=[[None, 3, 4, 4]],
                    output_shapes=[[None, 1]],
                    input_names=["images_in"],
                    output_names=["scores_out"],
                )
            )

        path = tmp_path / "ada-tf.pkl"
        path.write_bytes(pickle.dumps((net("G"), net("D"), net("Gs")), protocol=4))
    G, D, Gs = load_tf_pickle(path)
    assert D.version == 5 and D.build_func_name == "D_main" and D.variables["lod"].shape == ()


@pytest.mark.parametrize("name", ["sg2_snapshot_sanitized.pkl", "tf_sg2.pkl"])
def test_truncated_and_corrupt_pickles_give_a_clear_error(tmp_path, name):
    data = reference_file(name).read_bytes()
    path = tmp_path / name
    for cut in (1, 2, 10, 100, 5000, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_network(path)
    corrupt = bytearray(data)
    corrupt[40:60] = b"\xfe" * 20  # garbage in the opcode stream
    path.write_bytes(bytes(corrupt))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_network(path)
