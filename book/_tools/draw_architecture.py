"""Draw the MLP GAN of the "A first GAN" chapter: G, D and one step of the game, as an SVG.

    python book/_tools/draw_architecture.py        # writes book/images/gan_architecture.svg

The layers, their sizes and the parameter counts are read from the package's ``MLPGenerator``
and ``MLPDiscriminator`` (the defaults the chapter uses); ``tests/test_diagram.py`` checks that
the committed SVG still shows what the models hold. Re-run the script after changing them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from torch import nn  # noqa: E402

from gan_tutorial.models import MLPDiscriminator, MLPGenerator  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images" / "gan_architecture.svg"
G_COLOUR, D_COLOUR, DATA_COLOUR, LOSS_COLOUR = "#dbe9f6", "#fde2cf", "#e3f1df", "#f2f2f2"
UPDATE_COLOUR = "#b2182b"


def layers(model: nn.Module) -> list[str]:
    """One line per Linear layer of ``model.net``, with the activation that follows it."""
    modules = list(model.net)
    lines = []
    for index, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            after = modules[index + 1] if index + 1 < len(modules) else None
            activation = ""
            if isinstance(after, nn.LeakyReLU):
                activation = f", LeakyReLU({after.negative_slope:g})"
            elif isinstance(after, nn.Tanh):
                activation = ", tanh"
            lines.append(f"Linear {module.in_features} \u2192 {module.out_features}{activation}")
    return lines


def n_parameters(model: nn.Module) -> int:
    """Trainable numbers of ``model``."""
    return sum(p.numel() for p in model.parameters())


def box(ax, centre: tuple[float, float], text: str, colour: str, size: tuple[float, float],
        **text_kw) -> None:
    """A rounded box centred on ``centre`` with ``text`` in it."""
    (x, y), (width, height) = centre, size
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor=colour, edgecolor="#444444", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=9.5, linespacing=1.5, **text_kw)


def arrow(ax, start: tuple[float, float], end: tuple[float, float], colour: str = "#333333",
          dashed: bool = False, rad: float = 0.0) -> None:
    """An arrow from ``start`` to ``end``, straight or curved (``rad``)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=colour,
                                 linestyle="--" if dashed else "-", linewidth=1.3,
                                 connectionstyle=f"arc3,rad={rad}"))


def network_text(model: nn.Module, *extra: str) -> str:
    """A network's box: its layers, its parameter count, then ``extra`` lines."""
    return "\n".join([*layers(model), f"{n_parameters(model):,} parameters", *extra])


def draw(G: nn.Module, D: nn.Module) -> plt.Figure:
    """G on the top row, D on the bottom row, the losses and the two updates on the right."""
    fig, ax = plt.subplots(figsize=(15, 5.8))
    ax.set_xlim(0, 15)
    ax.set_ylim(0, 5.8)
    ax.axis("off")
    top, bottom, middle = 4.2, 1.8, 3.0
    title = {"ha": "center", "fontsize": 11, "fontweight": "bold"}

    box(ax, (1.0, top), f"z ~ N(0, I)\n{G.latent_dim} numbers", DATA_COLOUR, (1.6, 1.0))
    box(ax, (3.9, top), network_text(G), G_COLOUR, (3.4, 1.7))
    ax.text(3.9, top + 1.05, "generator G", color="#1f4e79", **title)
    box(ax, (6.75, top), "G(z): a fake image\n(1, 28, 28) in [-1, 1]", G_COLOUR, (1.9, 1.0))
    box(ax, (6.75, bottom), "x: a real MNIST digit\n(1, 28, 28) in [-1, 1]", DATA_COLOUR,
        (1.9, 1.0))
    box(ax, (9.75, middle), network_text(D, "input: the image flattened to 784",
                                         "output: a logit; D(\u00b7) = \u03c3(logit)"),
        D_COLOUR, (3.5, 2.1))
    ax.text(9.75, middle + 1.3, "discriminator D", color="#8c3b0b", **title)
    box(ax, (13.5, top), "D's loss\n\u2212log D(x) \u2212 log(1 \u2212 D(G(z)))", LOSS_COLOUR,
        (2.8, 0.9))
    box(ax, (13.5, bottom), "G's loss (non-saturating)\n\u2212log D(G(z))", LOSS_COLOUR,
        (2.8, 0.9))

    arrow(ax, (1.8, top), (2.2, top))
    arrow(ax, (5.6, top), (5.8, top))
    arrow(ax, (7.7, top - 0.2), (8.0, middle + 0.6))
    arrow(ax, (7.7, bottom + 0.2), (8.0, middle - 0.6))
    arrow(ax, (11.5, middle + 0.5), (12.1, top - 0.2))
    arrow(ax, (11.5, middle - 0.5), (12.1, bottom + 0.2))

    # The two updates of one step, in red: D first, then G through D.
    arrow(ax, (13.5, top + 0.45), (11.1, middle + 1.05), UPDATE_COLOUR, dashed=True, rad=0.35)
    ax.text(12.6, 5.45, "1. update D (Adam) on D's loss", color=UPDATE_COLOUR, fontsize=9.5,
            ha="center")
    route = {"color": UPDATE_COLOUR, "linestyle": "--", "linewidth": 1.3}
    ax.plot([13.5, 13.5, 3.9], [bottom - 0.45, 0.7, 0.7], **route)
    arrow(ax, (3.9, 0.7), (3.9, top - 0.85), UPDATE_COLOUR, dashed=True)
    ax.text(8.7, 0.3, "2. update G (Adam) on G's loss: its gradient flows back through D "
            "into G; D is not changed", color=UPDATE_COLOUR, fontsize=9.5, ha="center")
    return fig


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    fig = draw(MLPGenerator(latent_dim=100), MLPDiscriminator())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata and hash salt: the same code gives the same file, so git shows real changes.
    plt.rcParams["svg.hashsalt"] = "gan-architecture"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, and a small file
    fig.savefig(OUT, format="svg", bbox_inches="tight", metadata={"Date": None})
    print(f"written: {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
