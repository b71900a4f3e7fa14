import dataclasses

import pytest

from gan_tutorial.config import TrainConfig


def test_defaults_are_the_mlp_chapter_settings() -> None:
    config = TrainConfig()
    assert (config.batch_size, config.lr_g, config.lr_d) == (64, 2e-4, 2e-4)
    assert (config.beta1, config.beta2, config.d_steps) == (0.5, 0.999, 1)
    assert config.g_loss == "nonsaturating"


def test_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().steps = 3  # type: ignore[misc]


@pytest.mark.parametrize("field, value", [
    ("steps", 0), ("steps", 1.5), ("batch_size", -1), ("d_steps", 0), ("latent_dim", 0),
    ("lr_g", -1e-4), ("lr_d", 0.0), ("lr_g", float("nan")), ("lr_d", float("inf")),
    ("beta1", 1.0), ("beta2", -0.1), ("g_loss", "hinge"), ("log_every", 0),
    ("snapshot_every", -1), ("checkpoint_every", 0), ("seed", -3), ("steps", True),
    ("lr_g", "2e-4"),
])
def test_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        TrainConfig(**{field: value})


def test_round_trips_through_a_dict() -> None:
    config = TrainConfig(steps=7, g_loss="saturating", snapshot_every=0)
    assert TrainConfig(**config.to_dict()) == config
