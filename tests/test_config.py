import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_tutorial.config import TrainConfig
from gan_tutorial.losses import LOSSES

LOSS_NAMES = sorted(LOSSES)


def test_defaults_are_the_mlp_chapter_settings() -> None:
    config = TrainConfig()
    assert (config.batch_size, config.lr_g, config.lr_d) == (64, 2e-4, 2e-4)
    assert (config.beta1, config.beta2, config.d_steps) == (0.5, 0.999, 1)
    assert (config.loss, config.lambda_gp, config.r1_gamma) == ("nonsaturating", 10.0, 0.0)
    assert not (config.compile or config.bf16 or config.channels_last)


def test_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().steps = 3  # type: ignore[misc]


@pytest.mark.parametrize("field, value", [
    ("steps", 0), ("steps", 1.5), ("batch_size", -1), ("d_steps", 0), ("latent_dim", 0),
    ("lr_g", -1e-4), ("lr_d", 0.0), ("lr_g", float("nan")), ("lr_d", float("inf")),
    ("beta1", 1.0), ("beta2", -0.1), ("loss", "wgan"), ("loss", None), ("log_every", 0),
    ("lambda_gp", -1.0), ("lambda_gp", float("nan")), ("r1_gamma", float("inf")),
    ("r1_gamma", True),
    ("snapshot_every", -1), ("checkpoint_every", 0), ("seed", -3), ("seed", 2**32),
    ("steps", True),
    ("lr_g", "2e-4"), ("num_workers", -1), ("compile", 1), ("bf16", "yes"), ("channels_last", None),
])
def test_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        TrainConfig(**{field: value})


def test_round_trips_through_a_dict() -> None:
    config = TrainConfig(steps=7, loss="hinge", r1_gamma=0.5, snapshot_every=0)
    assert TrainConfig(**config.to_dict()) == TrainConfig.from_dict(config.to_dict()) == config


def test_a_config_saved_before_the_loss_registry_still_loads() -> None:
    old = {**TrainConfig(steps=7).to_dict(), "g_loss": "saturating"}
    del old["loss"], old["lambda_gp"], old["r1_gamma"]
    assert TrainConfig.from_dict(old) == TrainConfig(steps=7, loss="saturating")


INT_FIELDS = {"steps": 1, "batch_size": 1, "d_steps": 1, "latent_dim": 1, "log_every": 1,
              "checkpoint_every": 1, "snapshot_every": 0, "seed": 0, "num_workers": 0,
              "replay_size": 0}
BOOL_FIELDS = ("compile", "bf16", "channels_last")
ANY_VALUE = st.one_of(st.integers(-5, 2**40), st.floats(), st.booleans(), st.none(),
                      st.text(max_size=3), st.fractions(), st.sampled_from(LOSS_NAMES),
                      st.integers(-5, 5).map(np.int64), st.floats(-2, 2).map(np.float64))


def documented_valid(name: str, value: object) -> bool:
    """The ranges TrainConfig's docstring promises, written independently of the code."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    is_real = (isinstance(value, (int, float, Fraction, np.integer, np.floating))
               and not isinstance(value, bool))
    if name in INT_FIELDS:
        return is_int and INT_FIELDS[name] <= value and (name != "seed" or value < 2**32)
    if name in ("lr_g", "lr_d"):
        return is_real and math.isfinite(value) and value > 0
    if name in ("lambda_gp", "r1_gamma"):
        return is_real and math.isfinite(value) and value >= 0
    if name in ("beta1", "beta2", "label_smoothing", "ema_decay"):
        return is_real and 0 <= value < 1
    if name in BOOL_FIELDS:
        return isinstance(value, bool)
    return isinstance(value, str) and value in LOSS_NAMES


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([f.name for f in dataclasses.fields(TrainConfig)]), value=ANY_VALUE)
def test_accepts_exactly_the_documented_values(name: str, value: object) -> None:
    if documented_valid(name, value):
        stored = getattr(TrainConfig(**{name: value}), name)
        assert type(stored) in (int, float, str, bool)  # plain values: checkpoints store them
        assert stored == (float(value) if isinstance(stored, float) else value)
    else:
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            TrainConfig(**{name: value})
