"""What the app's tests share: waiting, the app's running jobs, photos made for a test."""

from __future__ import annotations

import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from history_of_interpretation import load_image
from history_of_interpretation.app.jobs import THREAD_NAME

PAGE_SECONDS = 120  # a map on 2 shared CPU cores, the model's first load included
STOP_SECONDS = 60  # a stopped job ends within one batch: generous on 2 busy cores


def job_threads() -> list[threading.Thread]:
    """The app's model jobs running now in this process (jobs.Job's threads)."""
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def wait_for(condition, what: str, seconds: float = PAGE_SECONDS):
    """Poll `condition()` until it is truthy and return it; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.2)
    return value


def rotated_photo(path, orientation: int):
    """A 300x200 JPEG whose left third is red and the rest blue, with EXIF orientation `orientation`.

    Upright (6: turned 90 degrees clockwise; 8: anticlockwise) it stands 200x300,
    its top third red (6) or its bottom third red (8).
    """
    pixels = np.zeros((200, 300, 3), dtype=np.uint8)
    pixels[:, :100] = (255, 0, 0)
    pixels[:, 100:] = (0, 0, 255)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation  # the EXIF Orientation tag
    image.save(path, exif=exif, quality=95)
    return path


def png_header_only(path, width: int, height: int):
    """A PNG that declares width x height but holds no pixels: only decoding it would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def truncated_jpeg(path):
    """A JPEG cut off halfway: its header reads, its pixels do not."""
    Image.fromarray(load_image("coffee")).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
