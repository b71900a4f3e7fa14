import pytest
import torch

from gan_tutorial.checkpoint import load_checkpoint, save_checkpoint
from gan_tutorial.config import TrainConfig
from gan_tutorial.models import MLPDiscriminator, MLPGenerator


def models(seed: int) -> tuple[MLPGenerator, MLPDiscriminator]:
    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=4, hidden=(8,)), MLPDiscriminator(hidden=(8,))


def test_round_trip_restores_weights_optimisers_step_and_config(tmp_path) -> None:
    G, D = models(0)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    G(torch.randn(2, 4)).sum().backward()
    opt_g.step()
    config = TrainConfig(steps=9, lr_g=1e-3)
    save_checkpoint(tmp_path / "c.pt", G, D, 7, config, opt_g=opt_g)
    G2, D2 = models(1)
    opt_g2 = torch.optim.Adam(G2.parameters(), lr=1e-3)
    step, loaded = load_checkpoint(tmp_path / "c.pt", G2, D2, opt_g=opt_g2)
    assert (step, loaded) == (7, config)
    for a, b in zip([*G.parameters(), *D.parameters()], [*G2.parameters(), *D2.parameters()]):
        assert torch.equal(a, b)
    assert opt_g2.state_dict()["state"][0]["step"] == 1


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    G, D = models(0)
    path = save_checkpoint(tmp_path / "c.pt", G, D, 1, TrainConfig())
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, *models(1), 2, TrainConfig())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


def test_loading_something_else_is_a_clear_error(tmp_path) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gan_tutorial checkpoint"):
        load_checkpoint(tmp_path / "other.pt", *models(0))
