"""Image uploads: checked by content, re-encoded without metadata, stored privately.

Pillow decodes the bytes, so the type comes from the content and never from
the file name or the browser's Content-Type. Only JPEG and PNG are accepted
(no SVG, which can carry scripts). The image is re-encoded from its pixels,
which drops EXIF data such as the GPS location, and stored under a generated
name in UPLOAD_DIR, outside ``static/``; views serve it only after checking
who may see it.
"""

import hashlib
import io
import logging
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from klusbank.errors import field_error

logger = logging.getLogger(__name__)
ACCEPTED_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}
# Pillow refuses images above this many pixels, which stops decompression bombs.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class StoredImage:
    """An image saved under a generated name."""

    name: str
    mime_type: str
    size_bytes: int
    sha256: str


def store_image(data: bytes, *, field: str, folder: str) -> StoredImage:
    """Validate, re-encode and store an uploaded image; raise InvalidInput naming ``field``."""
    max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
    if not data:
        raise field_error(field, _("The file is empty. Choose a photo."))
    if len(data) > max_bytes:
        raise field_error(
            field,
            _(
                "The file is larger than %(size)d MB. Choose a smaller photo.",
                size=max_bytes // (1024 * 1024),
            ),
        )
    image = _open_image(data, field)
    extension, mime_type = ACCEPTED_FORMATS[image.format]
    cleaned = _reencode(image, image.format)

    name = f"{secrets.token_hex(16)}.{extension}"
    target = upload_path(folder, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(cleaned)
    digest = hashlib.sha256(cleaned).hexdigest()
    logger.info("stored upload %s/%s (%d bytes)", folder, name, len(cleaned))
    return StoredImage(
        name=name, mime_type=mime_type, size_bytes=len(cleaned), sha256=digest
    )


def _open_image(data: bytes, field: str) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        # Pillow only warns between MAX_PIXELS and twice that; reject those too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
        ValueError,
    ):
        raise field_error(field, _("The file is not a JPEG or PNG photo."))
    if image_format not in ACCEPTED_FORMATS:
        raise field_error(field, _("The file is not a JPEG or PNG photo."))
    image.format = image_format
    return image


def _reencode(image: Image.Image, image_format: str) -> bytes:
    # Apply the EXIF orientation to the pixels, then write without any metadata.
    upright = ImageOps.exif_transpose(image)
    if image_format == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    pixels_only = Image.new(upright.mode, upright.size)
    pixels_only.paste(upright)
    output = io.BytesIO()
    options = (
        {"quality": 88, "optimize": True}
        if image_format == "JPEG"
        else {"optimize": True}
    )
    pixels_only.save(output, format=image_format, **options)
    return output.getvalue()


def upload_path(folder: str, name: str) -> Path:
    """Return the path of a stored upload; reject names that could leave UPLOAD_DIR."""
    if (
        "/" in name
        or "\\" in name
        or name.startswith(".")
        or "/" in folder
        or ".." in folder
    ):
        raise ValueError(f"invalid upload name {folder!r}/{name!r}")
    return Path(current_app.config["UPLOAD_DIR"]) / folder / name
