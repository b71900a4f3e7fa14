import subprocess
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gan_tutorial import plot  # noqa: E402
from gan_tutorial.callbacks import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_sample_grid_lays_out_images_in_unit_range() -> None:
    images = torch.full((6, 1, 28, 28), -1.0)
    images[0] = 1.0
    ax = plot.sample_grid(images, nrow=3, title="t")
    shown = ax.get_images()[0].get_array()
    assert shown.shape[:2] == (2 * 30 + 2, 3 * 30 + 2)  # make_grid pads by 2
    assert shown[2:30, 2:30].min() == 1.0 and shown[2:30, 32:60].max() == 0.0
    assert ax.get_title() == "t"


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(4, 28, 28), r"shape \(N, C, H, W\)"),
    (torch.zeros(4, 2, 28, 28), r"\(N, 1 or 3, H, W\)"),
    (torch.zeros(4, 1, 28, 28, dtype=torch.float64), "float32"),
    (torch.full((4, 1, 28, 28), float("nan")), "NaN or infinite"),
    (torch.full((4, 1, 28, 28), 255.0), r"must lie in \[-1, 1\].*x / 127.5 - 1"),
])
def test_sample_grid_rejects_bad_images(bad: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot.sample_grid(bad)


def test_plot_does_not_import_training_at_run_time() -> None:
    code = ("import sys, gan_tutorial.plot; "
            "assert not {'gan_tutorial.train', 'gan_tutorial.callbacks'} & set(sys.modules), "
            "'plot imported the training modules'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_snapshot_grid_has_one_labelled_row_per_snapshot() -> None:
    snapshots = [(step, torch.zeros(10, 1, 28, 28)) for step in (0, 100, 200)]
    ax = plot.snapshot_grid(snapshots, n=4)
    assert ax.get_images()[0].get_array().shape[:2] == (3 * 30 + 2, 4 * 30 + 2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["step 0", "step 100", "step 200"]
    with pytest.raises(ValueError, match="empty"):
        plot.snapshot_grid([])


def test_curves_plot_every_logged_step() -> None:
    history = History(step=[1, 2, 3], d_loss=[1.0, 2.0, 3.0], g_loss=[3.0, 2.0, 1.0],
                      d_x=[0.9, 0.8, 0.7], d_g_z=[0.1, 0.2, 0.3], wall_time=[0.1, 0.2, 0.3])
    ax = plot.loss_curves(history, smooth=2)
    smoothed_d = ax.get_lines()[1].get_ydata()
    np.testing.assert_allclose(smoothed_d, [1.0, 1.5, 2.5])
    assert ax.get_ylabel() == "loss (nats)" and len(ax.get_lines()) == 6  # 2 x 2 + log 4, log 2
    ax = plot.d_output_curves(history, smooth=1)
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), [0.1, 0.2, 0.3])
    assert ax.get_ylim() == (0, 1) and "probability" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == [
        "D(x), real", "D(G(z)), generated"]


def test_curves_of_a_critic_plot_its_raw_scores() -> None:
    # a History of a loss without sigmoid (WGAN-GP): d_x and d_g_z stay empty
    history = SimpleNamespace(step=[1, 2, 3], d_loss=[-1.0, -2.0, -3.0], g_loss=[1.0, 2.0, 3.0],
                              d_x=[], d_g_z=[], real_score=[4.0, 5.0, 6.0],
                              fake_score=[-4.0, -5.0, -6.0])
    ax = plot.d_output_curves(history, smooth=1)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [4.0, 5.0, 6.0])
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), [-4.0, -5.0, -6.0])
    assert ax.get_ylabel() == "mean critic score" and len(ax.get_lines()) == 4  # no 1/2 line
    ax = plot.loss_curves(history, smooth=1)
    assert len(ax.get_lines()) == 4 and ax.get_ylabel() == "loss (critic units)"


def test_progress_animation_embeds_one_frame_per_snapshot() -> None:
    snapshots = [(step, torch.rand(4, 1, 28, 28) * 2 - 1) for step in (0, 10, 20)]
    html = plot.progress_animation(snapshots, nrow=2)
    assert html.count("data:image/png;base64") == 3
    assert "<script" in html and plt.get_fignums() == []
    with pytest.raises(ValueError, match="empty"):
        plot.progress_animation([])


def density_inputs() -> tuple[np.ndarray, np.ndarray, torch.Tensor, np.ndarray]:
    x = np.linspace(0, 8, 81)
    p_data = np.exp(-0.5 * ((x - 4) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
    return x, p_data, torch.full((100, 1), 2.05), np.full(81, 0.25)


def test_density_panel_draws_data_generator_and_discriminator() -> None:
    x, p_data, x_fake, d_x = density_inputs()
    ax = plot.density_panel(x, p_data, x_fake, d_x, bins=80, title="step 0")
    dotted, dashed, _ = ax.get_lines()
    np.testing.assert_allclose(dotted.get_ydata(), p_data)
    np.testing.assert_allclose(dashed.get_ydata(), d_x)
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 80 and max(heights) == pytest.approx(10.0)  # all mass in one 0.1 bin
    assert heights.index(max(heights)) == 20 and ax.get_ylim()[1] >= 10
    assert ax.get_title() == "step 0" and ax.get_xlim() == (0, 8)


def test_density_panel_can_leave_d_out_and_rejects_mismatched_shapes() -> None:
    x, p_data, x_fake, d_x = density_inputs()
    assert len(plot.density_panel(x, p_data, x_fake).get_lines()) == 2
    with pytest.raises(ValueError, match=r"d_x must have shape \(81,\)"):
        plot.density_panel(x, p_data, x_fake, d_x[:-1])
    with pytest.raises(ValueError, match="x_fake must have shape"):
        plot.density_panel(x, p_data, torch.zeros(10, 2))


def test_density_animation_embeds_one_frame_per_entry() -> None:
    x, p_data, x_fake, d_x = density_inputs()
    html = plot.density_animation([(0, x_fake, d_x), (10, x_fake + 1, d_x), (20, x_fake, d_x)],
                                  x, p_data)
    assert html.count("data:image/png;base64") == 3
    assert "<script" in html and plt.get_fignums() == []
    with pytest.raises(ValueError, match="empty"):
        plot.density_animation([], x, p_data)


def test_metric_bars_draws_one_labelled_bar_per_value() -> None:
    ax = plot.metric_bars({"real": 5.0, "DCGAN": 20.0, "MLP": 80.0}, title="FID", ideal=0.0,
                          fmt="{:.1f}", colors=["C2", "C0", "C1"])
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == [5.0, 20.0, 80.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["real", "DCGAN", "MLP"]
    assert [t.get_text() for t in ax.texts] == ["5.0", "20.0", "80.0"]
    assert ax.yaxis_inverted() and ax.get_title() == "FID"
    assert ax.get_xlim()[1] > 80.0  # room for the label of the longest bar
    assert ax.get_lines()[0].get_xdata()[0] == 0.0  # the ideal value


@pytest.mark.parametrize("values, kwargs, message", [
    ({}, {}, "empty"),
    ({"a": float("nan")}, {}, "finite"),
    ({"a": 1.0, "b": 2.0}, {"colors": ["C0"]}, "one entry per value"),
])
def test_metric_bars_rejects_bad_input(values, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot.metric_bars(values, **kwargs)


def test_scatter_2d_draws_samples_and_modes() -> None:
    ax = plot.scatter_2d(torch.randn(50, 2), centers=np.zeros((3, 2)), title="t")
    assert [len(c.get_offsets()) for c in ax.collections] == [50, 3]
    samples, modes = ax.collections
    assert modes.get_zorder() < samples.get_zorder()  # the crosses never hide the samples
    assert ax.get_title() == "t"
    plt.close("all")
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        plot.scatter_2d(torch.randn(5, 3))


def test_gradient_norms_plots_both_losses_on_a_log_axis() -> None:
    record = {"step": [0, 1, 2], "saturating": [1.0, 0.1, 0.01],
              "nonsaturating": [1.0, 1.0, 1.1], "d_g_z": [0.5, 0.1, 0.01]}
    ax = plot.gradient_norms(record)
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    assert list(ax.get_lines()[1].get_ydata()) == [1.0, 0.1, 0.01]
    plt.close("all")
    with pytest.raises(ValueError, match="one length"):
        plot.gradient_norms({**record, "d_g_z": [0.5]})


def test_vector_field_2d_draws_stream_lines_and_trajectories() -> None:
    x, y = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9))
    ax = plot.vector_field_2d(x, y, -y, x, {"a": np.array([[1.0, 0.0], [0.0, 1.0]])})
    lines = [line for line in ax.get_lines() if line.get_label() == "a"]
    assert len(lines) == 1 and list(lines[0].get_xdata()) == [1.0, 0.0]
    assert ax.get_xlim() == (-1.0, 1.0)
    plt.close("all")
    with pytest.raises(ValueError, match="trajectory 'b'"):
        plot.vector_field_2d(x, y, -y, x, {"b": np.zeros((3, 3))})
