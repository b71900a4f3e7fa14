"""The architecture diagram (book/images/gan_architecture.svg) shows the package's MLP GAN."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from torch import nn

from gan_tutorial.models import MLPDiscriminator, MLPGenerator

SVG = Path(__file__).resolve().parents[1] / "book" / "images" / "gan_architecture.svg"


def _svg_lines() -> list[str]:
    root = ET.parse(SVG).getroot()
    return ["".join(e.itertext()) for e in root.iter("{http://www.w3.org/2000/svg}text")]


def _expected(model: nn.Module) -> list[str]:
    """'Linear a → b' for every Linear layer, then the parameter count, as the figure says."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return ([f"Linear {m.in_features} \u2192 {m.out_features}" for m in linears]
            + [f"{sum(p.numel() for p in model.parameters()):,} parameters"])


def test_the_diagram_shows_the_chapter_models_layer_by_layer() -> None:
    lines = _svg_lines()
    for model in (MLPGenerator(latent_dim=100), MLPDiscriminator()):
        for expected in _expected(model):
            assert any(line.startswith(expected) for line in lines), (expected, lines)
    layer_lines = [line for line in lines if line.startswith("Linear ")]
    assert len(layer_lines) == 4 + 3  # G's four Linear layers, D's three: nothing extra


def test_the_diagram_shows_the_activations_and_the_generator_loss_the_chapter_uses() -> None:
    lines = _svg_lines()
    G = MLPGenerator(latent_dim=100)
    slope = next(m for m in G.modules() if isinstance(m, nn.LeakyReLU)).negative_slope
    assert sum(line.endswith(f"LeakyReLU({slope:g})") for line in lines) == 3 + 2
    assert sum(line.endswith("tanh") for line in lines) == 1  # G's output layer only
    assert "\u2212log D(G(z))" in lines  # the non-saturating generator loss (the default)
