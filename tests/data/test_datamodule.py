"""LdosDataModule on MALA's Be2 data imported into the store (3 train, 1 validation snapshot)."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
import torch
from lightning import LightningModule, Trainer
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.data.datamodule import LdosDataModule
from ldos_surrogate.data.scalers import AffineScaler
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.store import add_to_manifest, read_snapshot, write_snapshot

BE2_PARAMS = {"rcut": 4.67637, "twojmax": 10}
TRAIN = ["Be_snapshot0", "Be_snapshot1", "Be_snapshot2"]
VAL = ["Be_snapshot3"]
POINTS_PER_SNAPSHOT = 18 * 18 * 27
IN_MEMORY_MB, LAZY_MB = 64.0, 1.0  # Be2 holds 4 x 8748 points x 102 float32 = 14 MB


@pytest.fixture(scope="module")
def be2_store(mala_be2, tmp_path_factory):
    out = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, out, BE2_PARAMS["rcut"], BE2_PARAMS["twojmax"])
    return out


def make_datamodule(store, budget_mb=IN_MEMORY_MB, **overrides):
    arguments = dict(
        dataset_dir=store,
        train=TRAIN,
        val=VAL,
        descriptor_params=BE2_PARAMS,
        batch_size=1000,
        memory_budget_mb=budget_mb,
        seed=7,
    )
    datamodule = LdosDataModule(**(arguments | overrides))
    datamodule.setup("fit")
    return datamodule


def raw_rows(mala_be2, names):
    """Unscaled (descriptor, LDOS) rows of MALA's files, one row per grid point, C order."""
    rows = []
    for name in names:
        features = np.load(mala_be2 / f"{name}.in.npy")[..., 3:].reshape(-1, 91)
        ldos = np.load(mala_be2 / f"{name}.out.npy").reshape(-1, 11)
        rows.append(np.concatenate([features, ldos], axis=1))
    return rows


def with_identity_scalers(datamodule):
    """Batches then hold the stored float32 values bit for bit (x - 0) / 1."""
    identity = {
        name: AffineScaler("standard", torch.zeros(n), torch.ones(n)).state_dict()
        for name, n in (("descriptor_scaler", 91), ("ldos_scaler", 11))
    }
    datamodule.load_state_dict(datamodule.state_dict() | identity)
    return datamodule


def epoch_rows(batches):
    return [torch.cat(batch, dim=1).numpy() for batch in batches]


@pytest.mark.parametrize("budget_mb", [IN_MEMORY_MB, LAZY_MB])
def test_scalers_are_fitted_on_the_training_snapshots_only(be2_store, mala_be2, budget_mb):
    datamodule = make_datamodule(be2_store, budget_mb)
    assert datamodule.in_memory == (budget_mb == IN_MEMORY_MB)
    train = np.concatenate(raw_rows(mala_be2, TRAIN)).astype(np.float64)
    every = np.concatenate(raw_rows(mala_be2, TRAIN + VAL)).astype(np.float64)
    descriptor_scaler, ldos_scaler = datamodule.scalers
    np.testing.assert_allclose(
        descriptor_scaler.shift.numpy(), train[:, :91].mean(axis=0), rtol=1e-12
    )
    assert not np.allclose(descriptor_scaler.shift.numpy(), every[:, :91].mean(axis=0), rtol=1e-6)
    assert ldos_scaler.kind == "minmax"
    assert ldos_scaler.shift[0].item() == pytest.approx(train[:, 91:].min(), rel=1e-7)
    # one epoch of scaled training batches: features with mean 0 and spread 1, LDOS in [0, 1]
    scaled = np.concatenate(epoch_rows(datamodule.train_dataloader())).astype(np.float64)
    assert np.abs(scaled[:, :91].mean(axis=0)).max() < 1e-5
    assert np.abs(scaled[:, :91].std(axis=0) - 1).max() < 1e-5
    assert scaled[:, 91:].min() == pytest.approx(0, abs=1e-6)
    assert scaled[:, 91:].max() == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("budget_mb", [IN_MEMORY_MB, LAZY_MB])
def test_an_epoch_visits_every_training_point_once_in_batches_across_snapshots(
    be2_store, mala_be2, budget_mb
):
    datamodule = with_identity_scalers(make_datamodule(be2_store, budget_mb))
    loader = datamodule.train_dataloader()
    batches = epoch_rows(loader)
    assert len(batches) == len(loader) == 27  # ceil(3 x 8748 / 1000)
    assert [len(b) for b in batches] == [1000] * 26 + [244]
    truth = raw_rows(mala_be2, TRAIN)
    served = np.concatenate(batches)
    expected = np.concatenate(truth)
    assert len(np.unique(expected, axis=0)) == len(expected)  # every grid point is distinct
    np.testing.assert_array_equal(np.unique(served, axis=0), np.unique(expected, axis=0))
    owner = {row.tobytes(): i for i, rows in enumerate(truth) for row in rows}
    first_batch_snapshots = {owner[row.tobytes()] for row in batches[0]}
    assert first_batch_snapshots == {0, 1, 2}


@pytest.mark.parametrize("budget_mb", [IN_MEMORY_MB, LAZY_MB])
@pytest.mark.parametrize("world_size", [2, 4])
def test_ddp_processes_share_an_epoch_in_equal_steps(be2_store, mala_be2, budget_mb, world_size):
    """Each of W processes takes every W-th batch of the same seeded order; the short ones
    repeat one early batch, so all take ceil(27 / W) steps and together cover every point."""
    shares = []
    for rank in range(world_size):
        datamodule = with_identity_scalers(make_datamodule(be2_store, budget_mb))
        loader = datamodule._batches("train", True, 0, (rank, world_size))
        shares.append(epoch_rows(loader))
        assert len(shares[-1]) == len(loader) == -(-27 // world_size)
    whole = epoch_rows(
        with_identity_scalers(make_datamodule(be2_store, budget_mb))._batches("train", True)
    )
    served = [batch for share in shares for batch in share]
    assert len(served) == len(shares) * len(shares[0])
    for rank, share in enumerate(shares):
        for step, batch in enumerate(share[: len(whole[rank::world_size])]):
            np.testing.assert_array_equal(batch, whole[rank + step * world_size])
    np.testing.assert_array_equal(
        np.unique(np.concatenate(served), axis=0),
        np.unique(np.concatenate(raw_rows(mala_be2, TRAIN)), axis=0),
    )


@pytest.mark.parametrize("budget_mb", [IN_MEMORY_MB, LAZY_MB])
def test_order_is_fixed_by_seed_and_epoch(be2_store, budget_mb):
    first = make_datamodule(be2_store, budget_mb).train_dataloader()
    again = make_datamodule(be2_store, budget_mb).train_dataloader()
    other_seed = make_datamodule(be2_store, budget_mb, seed=8).train_dataloader()
    epoch0, epoch1 = epoch_rows(first), epoch_rows(first)
    np.testing.assert_array_equal(np.concatenate(epoch_rows(again)), np.concatenate(epoch0))
    assert not np.array_equal(epoch0[0], epoch1[0])
    assert not np.array_equal(epoch_rows(other_seed)[0], epoch0[0])


@pytest.mark.parametrize("budget_mb", [IN_MEMORY_MB, LAZY_MB])
def test_validation_and_whole_snapshots_are_served_in_grid_order(be2_store, mala_be2, budget_mb):
    datamodule = make_datamodule(be2_store, budget_mb)
    (val_rows,) = raw_rows(mala_be2, VAL)
    descriptor_scaler, ldos_scaler = datamodule.scalers
    inputs = datamodule.snapshot_inputs("val", 0)
    assert inputs.shape == (POINTS_PER_SNAPSHOT, datamodule.n_features)
    np.testing.assert_allclose(
        descriptor_scaler.inverse_transform(inputs.double()).numpy(),
        val_rows[:, :91],
        rtol=1e-5,
        atol=1e-5,
    )
    (snapshot,) = datamodule.snapshots("val")
    assert snapshot.name == "Be_snapshot3"
    np.testing.assert_array_equal(snapshot.ldos().reshape(-1, 11), val_rows[:, 91:])
    assert snapshot.meta.energy_grid == BE2_ENERGY_GRID
    served = torch.cat([y for _, y in datamodule.val_dataloader()])
    np.testing.assert_allclose(
        ldos_scaler.inverse_transform(served.double()).numpy(), val_rows[:, 91:], rtol=1e-5
    )


def test_lazy_epoch_memory_stays_at_the_buffer_size(be2_store, tmp_path):
    """24 copies of the Be2 snapshots (82 MB of float32 grid data) through a 4 MB budget."""
    store = tmp_path / "replicated"
    names = []
    for copy in range(6):
        for name in TRAIN + VAL:
            shutil.copytree(be2_store / name, store / f"{name}_{copy}")
            add_to_manifest(store, f"{name}_{copy}")
            names.append(f"{name}_{copy}")
    budget_mb = 4.0
    datamodule = make_datamodule(store, budget_mb, train=names, val=[], batch_size=4096)
    assert not datamodule.in_memory
    data_mb = len(names) * POINTS_PER_SNAPSHOT * datamodule.bytes_per_point / 2**20
    assert data_mb > 80
    # the first epoch in a process touches code paths and allocator pools once: warm up on Be2
    for _ in make_datamodule(be2_store, budget_mb, batch_size=4096).train_dataloader():
        pass
    before = resident_mb()
    growth = max(resident_mb() for _ in datamodule.train_dataloader()) - before
    assert growth < 4 * budget_mb, (
        f"resident memory grew by {growth:.1f} MB for {data_mb:.0f} MB of data"
    )


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_lightning_trains_on_it_and_the_checkpoint_loads_weights_only(be2_store, tmp_path):
    class TinyModel(LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(91, 11)

        def training_step(self, batch, _):
            inputs, targets = batch
            return torch.nn.functional.mse_loss(self.net(inputs), targets)

        def validation_step(self, batch, _):
            inputs, targets = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(inputs), targets))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    datamodule = LdosDataModule(
        be2_store, TRAIN, VAL, descriptor_params=BE2_PARAMS, batch_size=2048
    )
    trainer = Trainer(
        max_epochs=2,
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(TinyModel(), datamodule=datamodule)
    assert trainer.global_step == 2 * 13  # ceil(26244 / 2048) batches per epoch
    (checkpoint_path,) = (tmp_path / "checkpoints").glob("*.ckpt")
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    state = checkpoint["LdosDataModule"]
    assert state["descriptor_params"]["twojmax"] == 10
    restored = LdosDataModule(be2_store, TRAIN, VAL, descriptor_params=BE2_PARAMS)
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.ldos_scaler.scale, datamodule.ldos_scaler.scale)


def test_checkpoint_from_other_descriptors_is_refused(be2_store):
    state = make_datamodule(be2_store).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    other = LdosDataModule(be2_store, TRAIN, VAL, descriptor_params={"rcut": 5.0, "twojmax": 10})
    with pytest.raises(InputError, match="descriptor_params: the checkpoint was trained on"):
        other.load_state_dict(torch.load(buffer, weights_only=True))


def test_snapshot_missing_from_the_manifest_is_an_error_naming_both(be2_store):
    with pytest.raises(
        InputError, match=r"val: snapshot 'Be_snapshot9' is not listed in .*manifest\.json"
    ):
        make_datamodule(be2_store, val=["Be_snapshot9"])


def test_snapshot_in_two_splits_is_an_error(be2_store):
    with pytest.raises(InputError, match=r"val: snapshot 'Be_snapshot0' is also in split 'train'"):
        make_datamodule(be2_store, val=["Be_snapshot0"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ldos_scaling", "log", "ldos_scaling: expected one of"),
        ("batch_size", 0, "batch_size: must be a positive integer"),
        ("memory_budget_mb", 0, "memory_budget_mb: must be positive"),
        ("descriptor_params", {"rcut": 4.0, "twojmax": 10, "cutoff": 1}, "unknown keys"),
    ],
)
def test_bad_settings_are_errors_naming_the_key(be2_store, key, value, message):
    with pytest.raises(InputError, match=message):
        LdosDataModule(be2_store, TRAIN, VAL, **({"descriptor_params": BE2_PARAMS} | {key: value}))


def test_descriptors_on_another_grid_are_an_error_naming_both_files(
    be2_store, mala_be2, monkeypatch
):
    cropped = np.load(mala_be2 / "Be_snapshot0.in.npy")[:, :, :26, 3:]
    monkeypatch.setattr("ldos_surrogate.data.datamodule.cached_descriptors", lambda *args: cropped)
    with pytest.raises(InputError, match=r"\(grid \(18, 18, 26\)\) and .*Be_snapshot0/ldos\.npy"):
        make_datamodule(be2_store)


@pytest.mark.parametrize("which", ["ldos", "descriptors"])
def test_nan_in_an_array_is_an_error_naming_its_file(be2_store, tmp_path, which):
    store = tmp_path / "store"
    shutil.copytree(be2_store, store)
    snapshot_dir = store / "Be_snapshot3"
    (path,) = (
        [snapshot_dir / "ldos.npy"]
        if which == "ldos"
        else list((snapshot_dir / ".descriptor_cache").glob("*.npy"))
    )
    array = np.load(path, mmap_mode="r+")
    array[9, 9, 9, 5] = np.nan
    array.flush()
    del array
    datamodule = LdosDataModule(store, TRAIN, VAL, descriptor_params=BE2_PARAMS)
    for _ in range(2):  # a failed setup leaves nothing half set up
        with pytest.raises(InputError, match=rf"{path}: contains NaN or inf values"):
            datamodule.setup("fit")


def test_manifest_missing_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"manifest\.json: data set manifest missing"):
        make_datamodule(tmp_path)


def test_train_split_must_not_be_empty(be2_store):
    with pytest.raises(InputError, match="train: the training split lists no snapshots"):
        make_datamodule(be2_store, train=[])


def test_manifest_order_is_independent_of_split_order(be2_store):
    names = json.loads((be2_store / "manifest.json").read_text())["snapshots"]
    datamodule = make_datamodule(be2_store, train=list(reversed(TRAIN)))
    assert [s.name for s in datamodule.snapshots("train")] == list(reversed(TRAIN))
    assert names[:3] == TRAIN


def test_float16_ldos_is_served_alike_in_both_modes(be2_store, tmp_path):
    """A store may keep the LDOS as float16 (half the disk): both modes read it the same."""
    store = tmp_path / "half"
    for name in TRAIN + VAL:
        snapshot = read_snapshot(be2_store / name)
        write_snapshot(
            store / name, snapshot.meta, snapshot.atoms(), snapshot.ldos(), ldos_dtype=np.float16
        )
        shutil.copytree(be2_store / name / ".descriptor_cache", store / name / ".descriptor_cache")
        add_to_manifest(store, name)
    served = {}
    for budget_mb in (IN_MEMORY_MB, LAZY_MB):
        datamodule = make_datamodule(store, budget_mb)
        served[datamodule.in_memory] = torch.cat([y for _, y in datamodule.val_dataloader()])
    torch.testing.assert_close(served[True], served[False], rtol=0, atol=0)
    half = read_snapshot(be2_store / VAL[0]).ldos().astype(np.float16).reshape(-1, 11)
    physical = datamodule.ldos_scaler.inverse_transform(served[False].double()).numpy()
    np.testing.assert_allclose(physical, half.astype(np.float64), rtol=1e-6, atol=1e-9)
