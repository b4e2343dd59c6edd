"""End-to-end tests in a real headless Chromium: open the page, move controls, check that the
image changes and equals the library's own rendering of the same settings, switch layers, save."""

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image

from tests.explore.browser import Page, chromium, missing_reason, serve

reason = missing_reason()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")

import stylegan  # noqa: E402
from stylegan.explore.render import Settings, render  # noqa: E402
from stylegan.tools.generate import generate_images  # noqa: E402
from stylegan.tools.mix import preset_layers  # noqa: E402
from stylegan.utils.images import to_uint8  # noqa: E402


@pytest.fixture(scope="module")
def setup(nets, tmp_path_factory):
    from stylegan.explore.app import create_app
    from stylegan.explore.session import Explorer

    explorer = Explorer(roots=[nets["root"]], outdir=tmp_path_factory.mktemp("explore-out"))
    with serve(create_app(explorer)) as url, chromium() as driver:
        driver.get(url + "/")
        page = Page(driver)
        page.wait(lambda: page.js("return window.explorer && window.explorer.ready === true"), "the page to load")
        yield page, explorer, nets


def test_open_move_controls_layers_and_save(setup):
    page, explorer, nets = setup
    G = stylegan.load(nets["sg2"])

    def library(**kw):
        return render(G, Settings(**kw)).picture

    # open a network by typing its path
    page.set_value("path", "g16.safetensors")
    first = page.after_change(lambda: page.d.find_element("id", "open").click())
    assert np.array_equal(first, to_uint8(generate_images(G, [0]))[0])
    assert "stylegan2.generator" in page.d.find_element("id", "network-info").text
    # controls of other kinds of network are hidden
    for hidden in ("class-row", "panel-sg3", "w-row", "error"):
        assert not page.d.find_element("id", hidden).is_displayed(), hidden

    # move the latent: a new image, the library's for seed 5
    moved = page.after_change(lambda: page.set_value("x", 5))
    assert not np.array_equal(moved, first)
    assert np.array_equal(moved, library(x=5))
    assert page.d.find_element("id", "seed-label").text == "5"

    # fractional position: a blend of four seeds
    assert np.array_equal(page.after_change(lambda: page.set_value("y", 0.5)), library(x=5, y=0.5))

    # truncation slider
    assert np.array_equal(page.after_change(lambda: page.set_value("psi", 0.4)), library(x=5, y=0.5, psi=0.4))
    assert page.d.find_element("id", "psi-num").get_attribute("value") == "0.4"

    # style mixing: mix seed and the coarse shortcut
    page.set_value("mix-seed", 11)
    got = page.after_change(lambda: page.d.find_element("css selector", "[data-preset=coarse]").click())
    assert np.array_equal(got, library(x=5, y=0.5, psi=0.4, mix_seed=11, mix_layers=preset_layers("coarse", G.num_ws)))
    page.after_change(lambda: page.d.find_element("css selector", "[data-preset=none]").click())

    # switch layers: a feature map, single channel, channel scrubbing, gain, FFT
    layer = "synthesis.b8.conv0"
    base = dict(x=5, y=0.5, psi=0.4, mix_seed=11, layer=layer)
    got = page.after_change(lambda: page.set_value("layer", layer, "change"))
    assert np.array_equal(got, library(**base))
    assert layer in page.d.find_element("id", "view-info").text
    got = page.after_change(lambda: page.d.find_element("css selector", "input[name=sel][value='1']").click())
    assert np.array_equal(got, library(**base, sel_channels=1))
    got = page.after_change(lambda: page.set_value("channel", 4))
    assert np.array_equal(got, library(**base, sel_channels=1, base_channel=4))
    got = page.after_change(lambda: page.set_value("gain", 6))
    assert np.array_equal(got, library(**base, sel_channels=1, base_channel=4, gain_db=6))
    got = page.after_change(lambda: page.d.find_element("id", "fft").click())
    assert got.shape == (8, 16, 3)
    assert np.array_equal(got, library(**base, sel_channels=1, base_channel=4, gain_db=6, fft=True))
    assert float(page.d.find_element("id", "st-max").text) == pytest.approx(
        render(G, Settings(**base, sel_channels=1)).stats["max"], rel=1e-3
    )
    page.after_change(lambda: page.d.find_element("id", "fft").click())
    back = page.after_change(lambda: page.set_value("layer", "", "change"))
    assert np.array_equal(back, library(x=5, y=0.5, psi=0.4, mix_seed=11, gain_db=6, sel_channels=1))

    # save the image: the file holds what the page shows
    page.set_value("gain", 0)
    page.d.find_element("css selector", "input[name=sel][value='3']").click()
    shown = page.after_change(lambda: page.set_value("x", 7))
    page.d.find_element("id", "save").click()
    link = page.wait(lambda: page.d.find_element("id", "saved-link").text, "the saved file")
    path = link.removeprefix("saved ")
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), shown)
    assert page.d.find_element("id", "perf-device").text == "cpu"
    assert float(page.d.find_element("id", "perf-latency").text) > 0


def test_errors_show_in_the_page_and_the_server_goes_on(setup):
    page, explorer, nets = setup
    page.set_value("path", "g16.safetensors")
    page.after_change(lambda: page.d.find_element("id", "open").click())
    page.set_value("path", "missing.safetensors")
    page.d.find_element("id", "open").click()
    page.wait(lambda: page.d.find_element("id", "error").is_displayed(), "the error message")
    assert "not found" in page.d.find_element("id", "error").text
    page.set_value("path", "../../etc/passwd")
    page.d.find_element("id", "open").click()
    page.wait(lambda: "'..'" in page.d.find_element("id", "error").text, "the traversal refusal")
    assert explorer.network["name"] == "g16.safetensors"  # the open network stays
    # a bad number: the server says which value; the next good one renders and clears the message
    page.set_value("cutoff", 999)
    page.d.find_element("id", "cutoff-on").click()
    page.wait(lambda: "cutoff" in page.d.find_element("id", "error").text, "the cutoff error")
    page.after_change(lambda: page.d.find_element("id", "cutoff-on").click())
    assert not page.d.find_element("id", "error").is_displayed()


def test_stylegan3_transform_in_the_page(setup):
    page, explorer, nets = setup
    G = stylegan.load(nets["sg3"])
    page.set_value("path", "sg3.safetensors")
    page.after_change(lambda: page.d.find_element("id", "open").click())
    assert page.d.find_element("id", "panel-sg3").is_displayed()
    page.set_value("x", 2)
    got = page.after_change(lambda: page.set_value("tx", 0.25))

    def shown_settings():  # the page's settings (other tests may have changed psi, mixing, ...)
        return Settings(**page.js("return settings()"))

    s = shown_settings()
    assert (s.x, s.translate_x, s.rotate) == (2, 0.25, 0)
    assert np.array_equal(got, render(G, s).picture)
    got = page.after_change(lambda: page.set_value("rotate", 45))
    assert np.array_equal(got, render(G, dataclasses.replace(s, rotate=45)).picture)
    # with "drag moves the image", dragging translates by the dragged fraction of the shown size
    from selenium.webdriver.common.action_chains import ActionChains

    page.d.find_element("id", "drag-translate").click()
    page.d.find_element("id", "round-translate").click()
    view = page.d.find_element("id", "view")
    got = page.after_change(
        lambda: ActionChains(page.d).click_and_hold(view).move_by_offset(-40, 0).release().perform()
    )
    s = shown_settings()
    assert s.translate_x < 0.25 and s.round_translate and (s.x, s.y) == (2, shown_settings().y)
    assert np.array_equal(got, render(G, s).picture)
    page.d.find_element("id", "drag-translate").click()
    # the latent animation moves the image by itself
    before = page.picture()
    page.d.find_element("id", "anim-latent").click()
    time.sleep(1.0)
    page.d.find_element("id", "anim-latent").click()
    page.wait(page.idle, "the animation to settle")
    assert not np.array_equal(page.picture(), before)


def test_w_import_and_projection_in_the_page(setup, tmp_path):
    page, explorer, nets = setup
    G = stylegan.load(nets["sg2"])
    page.set_value("path", "g16.safetensors")
    page.after_change(lambda: page.d.find_element("id", "open").click())
    for box in ("cutoff-on",):
        if page.d.find_element("id", box).is_selected():
            page.d.find_element("id", box).click()
    # import a w written as the projector writes it: the page shows its image
    w = render(G, Settings(x=9, psi=0.5)).ws[0].numpy()
    np.savez(tmp_path / "w.npz", w=w)
    got = page.after_change(lambda: page.d.find_element("id", "w-import").send_keys(str(tmp_path / "w.npz")))
    assert page.d.find_element("id", "w-row").is_displayed()
    ref = render(G, Settings(w_id="w", mix_seed=11), {"w": render(G, Settings(x=9, psi=0.5)).ws[0]}).picture
    assert np.array_equal(got, ref)
    # project an uploaded image: progress, then the projected w is shown
    Image.fromarray(render(G, Settings(x=3)).picture).save(tmp_path / "face.png")
    page.d.find_element("id", "project-file").send_keys(str(tmp_path / "face.png"))
    page.set_value("project-steps", 10)
    before = page.renders()
    page.d.find_element("id", "project").click()
    page.wait(lambda: "projected face.png" in page.d.find_element("id", "project-status").text, "the projection")
    page.wait(lambda: page.renders() > before and page.idle(), "the projected image")
    w_id = page.js("return window.explorer.wId")
    assert np.array_equal(page.picture(), render(G, Settings(w_id=w_id, mix_seed=11), explorer.imported).picture)


def test_editing_sliders_in_the_page(setup):
    page, explorer, nets = setup
    G = stylegan.load(nets["edit"])
    page.set_value("path", "edit16.safetensors")
    page.after_change(lambda: page.d.find_element("id", "open").click())
    page.set_value("direction-components", 3)
    page.after_change(lambda: page.d.find_element("id", "direction-compute").click())
    assert "sefa direction, w space, 3 vectors" in page.d.find_element("id", "direction-info").text
    plain = page.picture()
    got = page.after_change(lambda: page.set_value("edit-1", 4))
    assert not np.array_equal(got, plain)
    key = page.js("return window.explorer.directionId")
    s = Settings(**{**page.js("return settings()"), "direction_id": key})
    assert s.edit_strengths == [0, 4, 0]
    assert np.array_equal(got, render(G, s, explorer.imported, explorer.directions).picture)
    assert np.array_equal(page.after_change(lambda: page.d.find_element("id", "edit-reset").click()), plain)


def test_drag_record_and_artifact_panel(setup):
    from selenium.webdriver.common.action_chains import ActionChains

    page, explorer, nets = setup
    G = stylegan.load(nets["pin"])
    page.set_value("path", "pin.safetensors")
    page.after_change(lambda: page.d.find_element("id", "open").click())
    page.after_change(lambda: page.set_value("x", 0))
    page.after_change(lambda: page.set_value("y", 0))
    # dragging the image 100 px to the right moves the latent by one seed
    view = page.d.find_element("id", "view")
    got = page.after_change(
        lambda: (
            ActionChains(page.d).click_and_hold(view).move_by_offset(50, 0).move_by_offset(50, 0).release().perform()
        )
    )
    assert float(page.d.find_element("id", "x").get_attribute("value")) == pytest.approx(1.0)
    assert np.array_equal(got, render(G, Settings(**page.js("return settings()"))).picture)
    # record a short video of the latent animation
    page.set_value("video-frames", 3)
    page.d.find_element("id", "record").click()
    page.wait(lambda: page.d.find_element("id", "video-link").text.startswith("video "), "the video")
    assert (explorer.outdir / page.d.find_element("id", "video-link").text.split()[1].rsplit("/", 1)[1]).exists()
    # the circular-artifact tools and the PIN gates
    page.d.find_element("css selector", "#panel-artifacts summary").click()
    assert "PIN gates" in page.d.find_element("id", "pin-gates").text
    page.d.find_element("id", "analyse").click()
    page.wait(lambda: "score" in page.d.find_element("id", "artifact-info").text, "the artifact analysis")
    assert page.js("return document.getElementById('energy-figure').naturalWidth") > 0
