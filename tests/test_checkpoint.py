import pickle

import pytest
import torch

from gan_tutorial import checkpoint
from gan_tutorial.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from gan_tutorial.config import TrainConfig
from gan_tutorial.models import MLPDiscriminator, MLPGenerator


def models(seed: int, hidden: int = 8) -> tuple[MLPGenerator, MLPDiscriminator]:
    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=4, hidden=(hidden,)), MLPDiscriminator(hidden=(hidden,))


def optimizers(G, D) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    return torch.optim.Adam(G.parameters(), lr=1e-3), torch.optim.Adam(D.parameters(), lr=1e-3)


def saved_run(path, seed: int = 0, step: int = 7):
    """A checkpoint of models whose optimizers have taken one step; returns the objects."""
    G, D = models(seed)
    opt_g, opt_d = optimizers(G, D)
    G(torch.randn(2, 4)).sum().backward()
    opt_g.step()
    save_checkpoint(path, G, D, opt_g, opt_d, TrainConfig(steps=9, lr_g=1e-3), step,
                    history={"step": [1, 2], "d_loss": [0.5, 0.25]})
    return G, D, opt_g, opt_d


def test_round_trip_restores_weights_optimizers_step_config_and_history(tmp_path) -> None:
    G, D, opt_g, _ = saved_run(tmp_path / "c.pt")
    G2, D2 = models(1)
    opt_g2, opt_d2 = optimizers(G2, D2)
    loaded = load_checkpoint(tmp_path / "c.pt", G2, D2, opt_g2, opt_d2)
    assert (loaded.step, loaded.config) == (7, TrainConfig(steps=9, lr_g=1e-3))
    assert loaded.history == {"step": [1, 2], "d_loss": [0.5, 0.25]}
    for a, b in zip([*G.parameters(), *D.parameters()], [*G2.parameters(), *D2.parameters()]):
        assert torch.equal(a, b)
    assert opt_g2.state_dict()["state"][0]["step"] == 1
    assert torch.equal(opt_g2.state_dict()["state"][0]["exp_avg"],
                       opt_g.state_dict()["state"][0]["exp_avg"])


def test_rng_state_is_stored_and_restores_the_same_random_numbers(tmp_path) -> None:
    torch.manual_seed(5)
    saved_run(tmp_path / "c.pt")  # captures the state after drawing the models' weights
    expected = torch.randn(3)
    torch.manual_seed(99)
    restore_rng_state(load_checkpoint(tmp_path / "c.pt").rng_state)
    assert torch.equal(torch.randn(3), expected)
    state = capture_rng_state()
    first = torch.rand(2)
    restore_rng_state(state)
    assert torch.equal(torch.rand(2), first)


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    saved_run(tmp_path / "c.pt")
    path = tmp_path / "c.pt"
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        saved_run(path, seed=1, step=8)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


def test_the_write_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch) -> None:
    events = []
    monkeypatch.setattr(checkpoint.os, "fsync", lambda fd: events.append("fsync"))
    real_replace = checkpoint.os.replace
    monkeypatch.setattr(checkpoint.os, "replace",
                        lambda *a: (events.append("replace"), real_replace(*a)))
    saved_run(tmp_path / "c.pt")
    assert events[:2] == ["fsync", "replace"]


def test_a_foreign_file_is_a_clear_error(tmp_path) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt is not a gan_tutorial checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_another_format_version_is_refused(tmp_path) -> None:
    saved_run(tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    torch.save({**state, "version": 99}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="format version 99; this gan_tutorial reads"):
        load_checkpoint(tmp_path / "c.pt")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_a_truncated_checkpoint_is_refused(tmp_path, keep: float) -> None:
    path = tmp_path / "c.pt"
    saved_run(path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=r"c\.pt is truncated or corrupted"):
        load_checkpoint(path)


def test_random_bytes_are_refused(tmp_path) -> None:
    path = tmp_path / "c.pt"
    path.write_bytes(torch.randint(0, 256, (5000,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(CheckpointError, match="not a checkpoint written by gan_tutorial"):
        load_checkpoint(path)


class WritesAMarker:
    """Unpickling this object would create the file ``marker`` (a stand-in for any code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("save", ["torch", "pickle"])
def test_a_checkpoint_carrying_a_pickled_object_is_refused_without_running_it(
        tmp_path, save: str) -> None:
    marker, path = tmp_path / "code-ran", tmp_path / "evil.pt"
    payload = {"format": checkpoint.FORMAT, "version": checkpoint.FORMAT_VERSION,
               "step": WritesAMarker(str(marker))}
    if save == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match=r"evil\.pt was refused: it holds pickled code") \
            as caught:
        load_checkpoint(path)
    assert not marker.exists()
    # torch's advice to load with weights_only=False (which would run the code) is not passed on
    assert "weights_only" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_weights_that_do_not_fit_are_refused_and_nothing_changes(tmp_path) -> None:
    saved_run(tmp_path / "c.pt")
    G, D = models(3, hidden=16)
    before = [p.clone() for p in G.parameters()]
    with pytest.raises(CheckpointError, match="the stored G does not fit the G given"):
        load_checkpoint(tmp_path / "c.pt", G, D)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_an_optimizer_that_does_not_fit_leaves_everything_as_it_was(tmp_path) -> None:
    saved_run(tmp_path / "c.pt")
    G, D = models(3)
    opt_g, _ = optimizers(G, D)
    opt_d = torch.optim.Adam([next(D.parameters())], lr=1e-3)  # one parameter: does not fit
    G(torch.randn(2, 4)).sum().backward()
    opt_g.step()  # opt_g now has a state of its own, different from the stored one
    before_g = [p.clone() for p in G.parameters()]
    before_state = {k: v.clone() for k, v in opt_g.state[next(G.parameters())].items()}
    with pytest.raises(CheckpointError, match="the stored opt_d does not fit"):
        load_checkpoint(tmp_path / "c.pt", G, D, opt_g, opt_d)
    assert all(torch.equal(a, b) for a, b in zip(before_g, G.parameters()))
    after_state = opt_g.state[next(G.parameters())]
    assert all(torch.equal(before_state[k], after_state[k]) for k in before_state)


def test_a_missing_file_is_a_file_not_found_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")
