"""Loading photos (samples, files, URLs, arrays) and the side-by-side composite."""

from __future__ import annotations

import functools
import http.server
import threading

import numpy as np
import pytest
from PIL import Image

from history_of_interpretation import Composite, ImageLoadError, load_image, sample_catalogue, side_by_side
from history_of_interpretation.images import MIN_SIDE, center_crop_resize

# --- the offline catalogue ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(sample_catalogue()))
def test_every_sample_loads_as_rgb_uint8(name):
    image = load_image(name)
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.dtype == np.uint8
    assert min(image.shape[:2]) >= MIN_SIDE
    assert image.std() > 10  # a real photo, not a flat field
    resized = load_image(name, 224)
    assert resized.shape == (224, 224, 3) and resized.dtype == np.uint8


def test_catalogue_entries_are_complete():
    catalogue = sample_catalogue()
    assert {"chelsea", "coffee"} <= set(catalogue)
    for name, entry in catalogue.items():
        assert entry["name"] == name
        assert entry["package"] and entry["loader"] and entry["description"]
        assert isinstance(entry["expected"], list)
    assert catalogue["chelsea"]["expected"] == ["tabby", "tiger cat", "Egyptian cat"]


def test_sample_is_the_package_photo():
    from skimage import data

    np.testing.assert_array_equal(load_image("chelsea"), data.chelsea())


# --- files in every pixel format ------------------------------------------------


def _save(tmp_path, image: Image.Image, name: str):
    path = tmp_path / name
    image.save(path)
    return path


def test_grayscale_file(tmp_path):
    values = np.tile(np.arange(0, 250, 5, dtype=np.uint8), (40, 1))  # 40 x 50
    path = _save(tmp_path, Image.fromarray(values, mode="L"), "gray.png")
    image = load_image(path)
    assert image.shape == (40, 50, 3) and image.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], values)


def test_rgba_file_is_composited_on_white(tmp_path):
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # opaque red
    rgba[:, 20:] = (0, 0, 255, 0)  # fully transparent
    path = _save(tmp_path, Image.fromarray(rgba, mode="RGBA"), "rgba.png")
    image = load_image(path)
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8
    assert (image[:, :20] == (255, 0, 0)).all()
    assert (image[:, 20:] == (255, 255, 255)).all()


def test_palette_file(tmp_path):
    palette_image = Image.new("P", (40, 40))
    palette_image.putpalette([0, 0, 0, 10, 200, 30, 250, 240, 5] + [0] * (256 - 3) * 3)
    indices = np.zeros((40, 40), dtype=np.uint8)
    indices[:20] = 1
    indices[20:] = 2
    palette_image.putdata(indices.ravel().tolist())
    path = _save(tmp_path, palette_image, "palette.png")
    assert Image.open(path).mode == "P"
    image = load_image(path)
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8
    assert (image[:20] == (10, 200, 30)).all()
    assert (image[20:] == (250, 240, 5)).all()


def test_palette_file_with_transparency(tmp_path):
    palette_image = Image.new("P", (40, 40))
    palette_image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 254 * 3)
    palette_image.putdata([1] * 800 + [0] * 800)
    palette_image.info["transparency"] = 0
    path = tmp_path / "palette_alpha.png"
    palette_image.save(path, transparency=0)
    image = load_image(path)
    assert (image[:20] == (10, 200, 30)).all()
    assert (image[20:] == (255, 255, 255)).all()  # transparent becomes white, not black


def test_16_bit_file(tmp_path):
    values = np.zeros((40, 40), dtype=np.uint16)
    values[:, :20] = 65535
    values[:, 20:] = 32896  # 128 * 257: mid grey
    path = _save(tmp_path, Image.fromarray(values), "deep.png")
    assert Image.open(path).mode.startswith("I")  # Pillow reads it back as 16-bit
    image = load_image(path)
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8
    assert (image[:, :20] == 255).all()
    assert (image[:, 20:] == 128).all()


def test_jpeg_file_round_trip(tmp_path):
    photo = load_image("coffee")
    path = tmp_path / "coffee.jpg"
    Image.fromarray(photo).save(path, quality=95)
    image = load_image(path)
    assert image.shape == photo.shape
    assert np.abs(image.astype(int) - photo).mean() < 3
    assert load_image(str(path)).shape == photo.shape  # a str path works too


def test_array_source(tmp_path):
    gray = np.full((50, 60), 77, dtype=np.uint8)
    image = load_image(gray)
    assert image.shape == (50, 60, 3) and (image == 77).all()
    rgb = load_image("rocket")
    np.testing.assert_array_equal(load_image(rgb), rgb)


# --- cropping -------------------------------------------------------------------


def test_wide_image_is_centre_cropped(tmp_path):
    height = 60
    pixels = np.zeros((height, 3 * height, 3), dtype=np.uint8)
    pixels[:, :height] = (255, 0, 0)
    pixels[:, height : 2 * height] = (0, 0, 255)
    pixels[:, 2 * height :] = (255, 0, 0)
    path = _save(tmp_path, Image.fromarray(pixels), "wide.png")
    image = load_image(path, 32)
    assert image.shape == (32, 32, 3)
    assert (image == (0, 0, 255)).all()  # only the blue middle third is left


def test_tall_image_is_centre_cropped():
    width = 40
    pixels = np.zeros((4 * width, width, 3), dtype=np.uint8)
    pixels[: width * 3 // 2] = (0, 255, 0)
    pixels[width * 3 // 2 : width * 5 // 2] = (200, 100, 50)
    pixels[width * 5 // 2 :] = (0, 255, 0)
    image = load_image(pixels, 48)
    assert image.shape == (48, 48, 3)
    assert (image == (200, 100, 50)).all()


def test_center_crop_resize_with_an_aspect():
    photo = load_image("chelsea")
    half = center_crop_resize(photo, 100, aspect=0.5)
    assert half.shape == (100, 50, 3) and half.dtype == np.uint8


# --- errors that say what to do -------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(ImageLoadError, match="no image file at") as error:
        load_image(tmp_path / "nowhere.jpg")
    message = str(error.value)
    assert "nowhere.jpg" in message
    for name in sample_catalogue():
        assert name in message


def test_misspelt_sample_name_lists_the_samples():
    with pytest.raises(ImageLoadError, match="chelsea"):
        load_image("chelsae")


def test_text_file_named_png(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("I am not a picture\n")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(path)


def test_truncated_image_file(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(load_image("coffee")).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(path)


def test_unreachable_url():
    # Port 9 (discard) on loopback: refused at once, no traffic leaves the machine.
    with pytest.raises(ImageLoadError, match="could not download") as error:
        load_image("http://127.0.0.1:9/cat.jpg")
    assert "http://127.0.0.1:9/cat.jpg" in str(error.value)


@pytest.fixture
def local_server(tmp_path):
    """An HTTP server on loopback serving tmp_path."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_url_download(tmp_path, local_server):
    photo = load_image("rocket")
    Image.fromarray(photo).save(tmp_path / "rocket.png")
    np.testing.assert_array_equal(load_image(f"{local_server}/rocket.png"), photo)
    assert load_image(f"{local_server}/rocket.png", 64).shape == (64, 64, 3)
    with pytest.raises(ImageLoadError, match="could not download"):
        load_image(f"{local_server}/missing.png")  # 404
    (tmp_path / "page.png").write_text("<html>not found</html>")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(f"{local_server}/page.png")


@pytest.mark.parametrize("shape", [(1, 1), (20, 200), (200, MIN_SIDE - 1)])
def test_tiny_image(tmp_path, shape):
    path = _save(tmp_path, Image.fromarray(np.full(shape + (3,), 128, dtype=np.uint8)), "tiny.png")
    with pytest.raises(ImageLoadError, match="pixels") as error:
        load_image(path)
    assert f"{shape[1]}x{shape[0]}" in str(error.value)


def test_smallest_allowed_image(tmp_path):
    path = _save(tmp_path, Image.fromarray(np.full((MIN_SIDE, MIN_SIDE, 3), 9, dtype=np.uint8)), "ok.png")
    assert load_image(path, 224).shape == (224, 224, 3)


# --- the side-by-side composite -------------------------------------------------


def test_side_by_side():
    composite = side_by_side("chelsea", "coffee", 224)
    assert isinstance(composite, Composite)
    assert (composite.left, composite.right) == ("chelsea", "coffee")
    image = composite.image
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    left = center_crop_resize(load_image("chelsea"), 224, aspect=0.5)
    right = center_crop_resize(load_image("coffee"), 224, aspect=0.5)
    np.testing.assert_array_equal(image[:, :112], left)
    np.testing.assert_array_equal(image[:, 112:], right)


def test_half_masks():
    composite = side_by_side("chelsea", "coffee", 224)
    left, right = composite.half_mask("left"), composite.half_mask("right")
    assert left.shape == right.shape == (224, 224) and left.dtype == bool
    assert left[:, :112].all() and not left[:, 112:].any()
    assert right[:, 112:].all() and not right[:, :112].any()
    assert (left ^ right).all()
    with pytest.raises(ValueError, match="side"):
        composite.half_mask("top")


@pytest.mark.parametrize("size", [224, 260, 299, 33])
def test_side_by_side_is_square_at_every_size(size):
    composite = side_by_side("coffee", "chelsea", size)
    assert composite.image.shape == (size, size, 3)
    assert composite.half_mask("left").sum() + composite.half_mask("right").sum() == size * size


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((40, 40, 3), dtype=np.float64), "must be uint8"),
        (np.zeros((40, 40, 5), dtype=np.uint8), "HxWx3"),
    ],
)
def test_arrays_that_are_not_images_are_refused(array, message):
    with pytest.raises(ImageLoadError, match=message):
        load_image(array)


@pytest.mark.parametrize("size", [0, -5, 2.5, True])
def test_a_size_that_is_not_a_positive_whole_number_is_refused(size):
    with pytest.raises(ImageLoadError, match="size must be a positive whole number"):
        load_image("chelsea", size)
