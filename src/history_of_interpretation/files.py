"""Write files whole or not at all: a failed run leaves the old file in place."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path: str | Path, suffix: str = ""):
    """Yield a temporary path beside `path`; on success it replaces `path`.

    The temporary file gets the permissions a plain `open` would give
    (mkstemp makes it owner-only), so a replaced figure stays readable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{suffix}")
    os.close(handle)
    try:
        yield Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
