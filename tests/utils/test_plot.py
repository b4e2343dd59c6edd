import numpy as np

from stylegan.utils.plot import BLUES, LINE_COLORS, Panel, blues, heatmap_figure, line_figure, nice_ticks


def test_blues_runs_light_to_dark():
    assert np.array_equal(blues(np.array([0.0, 1.0])), BLUES[[0, -1]].astype(np.uint8))
    assert np.array_equal(blues(np.array([-5.0])), blues(np.array([0.0])))  # clipped
    mid = blues(np.array([0.5])).astype(int)[0]
    assert (mid < BLUES[0]).all() and (mid > BLUES[-1]).all()


def test_nice_ticks():
    assert nice_ticks(0, 4, 9) == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]
    assert nice_ticks(-50, 30, 9) == [-50, -40, -30, -20, -10, 0, 10, 20, 30]
    assert nice_ticks(3, 3) == [3]


def test_heatmap_figure_bands():
    values = np.zeros((9, 9))
    values[:, 5:] = 15.0  # right part: a higher band
    picture = heatmap_figure(values, (-4, 4), levels=[-10, 0, 10, 20], size=100)
    left = picture[40 + 50, 70 + 10]  # inside the plot area (left=70, top=40)
    right = picture[40 + 50, 70 + 90]
    assert tuple(left) == tuple(blues(np.array([2 / 4]))[0]) and tuple(right) == tuple(blues(np.array([3 / 4]))[0])


def test_line_figure_draws_each_series():
    x = np.linspace(0, 1, 20)
    picture = line_figure([Panel("a", {"one": (x, x), "two": (x, 1 - x)}, (0, 1), (0, 1))], panel_size=(200, 150))
    colors = {tuple(c) for c in picture.reshape(-1, 3)}
    assert LINE_COLORS[0] in colors and LINE_COLORS[1] in colors


def test_line_figure_takes_chosen_colors():
    x = np.linspace(0, 1, 20)
    panel = Panel("a", {"one": (x, x), "two": (x, 1 - x)}, (0, 1), (0, 1), colors={"two": (1, 2, 3)})
    colors = {tuple(c) for c in line_figure([panel], panel_size=(200, 150)).reshape(-1, 3)}
    assert LINE_COLORS[0] in colors and (1, 2, 3) in colors and LINE_COLORS[1] not in colors


def test_unlisted_curves_are_drawn_but_not_in_the_legend():
    x = np.linspace(0, 1, 20)
    both = Panel("a", {"one": (x, x), "two": (x, 1 - x)}, (0, 1), (0, 1))
    hidden = Panel("a", {"one": (x, x), "two": (x, 1 - x)}, (0, 1), (0, 1), unlisted=frozenset({"two"}))
    a, b = line_figure([both], panel_size=(200, 150)), line_figure([hidden], panel_size=(200, 150))
    assert LINE_COLORS[1] in {tuple(c) for c in b.reshape(-1, 3)}  # the curve is still drawn
    assert (a != b).any()  # but its legend entry is gone
