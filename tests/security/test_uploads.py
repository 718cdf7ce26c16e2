"""Uploaded images: size limits, type by content, metadata dropped, generated names."""

import io
import re

import pytest
from PIL import Image, PngImagePlugin

from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.uploads import MAX_PIXELS, store_image, upload_path
from participation import services as participation
from participation.models import Claim, ProofKind
from tests.participation.helpers import create_category, create_chore

GPS_IFD = 0x8825
GENERATED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")


def image_bytes(image_format: str, size=(40, 30), **save_options) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(output, image_format, **save_options)
    return output.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[GPS_IFD] = {1: "N", 2: (52.0, 5.0, 0.0), 3: "E", 4: (5.0, 7.0, 0.0)}
    return image_bytes("JPEG", exif=exif.tobytes())


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at Kanariestraat 12")
    return image_bytes("PNG", pnginfo=info)


def stored_image(app, stored, folder="claims") -> Image.Image:
    path = app.config["UPLOAD_DIR"] / folder / stored.name
    return Image.open(io.BytesIO(path.read_bytes()))


def rejection(data: bytes, field="photo") -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        store_image(data, field=field, folder="claims")
    return raised.value


def test_png_named_jpg_stored_as_png(bare_app):
    # store_image never receives the client's file name; the content decides.
    stored = store_image(image_bytes("PNG"), field="photo", folder="claims")

    assert stored.name.endswith(".png")
    assert stored.mime_type == "image/png"
    assert stored_image(bare_app, stored).format == "PNG"


def test_jpeg_accepted(bare_app):
    stored = store_image(image_bytes("JPEG"), field="photo", folder="claims")

    assert stored.name.endswith(".jpg")
    assert stored.mime_type == "image/jpeg"


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, named photo.jpg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        image_bytes("GIF"),
        image_bytes("BMP"),
        image_bytes("WEBP"),
        image_bytes("JPEG")[:200],
        b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>",
    ],
    ids=[
        "text",
        "svg",
        "svg-xml",
        "pdf",
        "gif-header",
        "gif",
        "bmp",
        "webp",
        "truncated-jpeg",
        "png-signature-only",
    ],
)
def test_non_photo_rejected(bare_app, data):
    error = rejection(data)

    assert list(error.errors) == ["photo"]
    assert not list((bare_app.config["UPLOAD_DIR"]).rglob("*.*"))


def test_empty_file_rejected(bare_app):
    assert list(rejection(b"").errors) == ["photo"]


def test_oversized_file_rejected(bare_app):
    bare_app.config["MAX_UPLOAD_BYTES"] = 1000
    data = image_bytes("PNG", size=(400, 400), compress_level=0)

    error = rejection(data, field="proof")

    assert len(data) > 1000
    assert list(error.errors) == ["proof"]


def test_too_many_pixels_rejected(bare_app):
    # Just above MAX_PIXELS Pillow only warns; twice above it, it raises.
    width = 8000
    height = MAX_PIXELS // width + 1
    output = io.BytesIO()
    Image.new("1", (width, height)).save(output, "PNG")

    error = rejection(output.getvalue())

    assert list(error.errors) == ["photo"]


def test_gps_and_exif_removed(bare_app):
    original = Image.open(io.BytesIO(jpeg_with_gps()))

    stored = store_image(jpeg_with_gps(), field="photo", folder="claims")
    cleaned = stored_image(bare_app, stored)

    assert GPS_IFD in original.getexif()
    assert dict(cleaned.getexif()) == {}
    assert "exif" not in cleaned.info
    # The orientation is applied to the pixels before the tag is dropped.
    assert cleaned.size == (30, 40)


def test_png_text_removed(bare_app):
    stored = store_image(png_with_text(), field="photo", folder="claims")
    cleaned = stored_image(bare_app, stored)

    assert "Comment" not in cleaned.info
    assert (
        b"Kanariestraat"
        not in (bare_app.config["UPLOAD_DIR"] / "claims" / stored.name).read_bytes()
    )


def test_names_are_generated(bare_app):
    data = image_bytes("PNG")

    first = store_image(data, field="photo", folder="claims")
    second = store_image(data, field="photo", folder="claims")

    assert GENERATED_NAME.match(first.name)
    assert GENERATED_NAME.match(second.name)
    assert first.name != second.name
    assert first.sha256 == second.sha256


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("claims", "../secret_key"),
        ("claims", "..\\secret_key"),
        ("claims", "sub/name.png"),
        ("claims", ".hidden.png"),
        ("..", "name.png"),
        ("../instance", "name.png"),
        ("claims/../..", "name.png"),
        ("/etc", "passwd"),
    ],
)
def test_escaping_paths_rejected(bare_app, folder, name):
    with pytest.raises(ValueError):
        upload_path(folder, name)


def test_store_rejects_escaping_folder(bare_app):
    with pytest.raises(ValueError):
        store_image(image_bytes("PNG"), field="photo", folder="../static")


class TestPhotoSubmission:
    """Photos sent with submitted work, through the API as a browser or app would."""

    @pytest.fixture
    def claim(self, app, world):
        category = create_category(world.corporation_1)
        chore = create_chore(
            world.users["caretaker_x"],
            world.cluster_x,
            category,
            proof=ProofKind.PHOTO,
        )
        claim = participation.claim_chore(world.tenant_a, chore.id)
        db.session.commit()
        return claim

    def submit(self, app, actors, claim, content: bytes, filename: str):
        return app.test_client().post(
            f"/api/v1/claims/{claim.id}/submit",
            data={"note": "Klaar.", "photo": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
            headers=actors.bearer_headers("tenant_a"),
        )

    def test_png_named_jpg_accepted(self, app, world, actors, claim):
        response = self.submit(app, actors, claim, image_bytes("PNG"), "photo.jpg")
        db.session.expire_all()
        stored = db.session.get(Claim, claim.id)

        assert response.status_code == 200, response.get_json()
        assert GENERATED_NAME.match(stored.photo_name)
        assert stored.photo_name.endswith(".png")
        assert stored.photo_mime_type == "image/png"

    @pytest.mark.parametrize(
        ("content", "filename"),
        [
            (b"not a photo at all", "photo.jpg"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "photo.svg"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "photo.png"),
        ],
        ids=["text-as-jpg", "svg", "svg-as-png"],
    )
    def test_non_photo_rejected(self, app, world, actors, claim, content, filename):
        response = self.submit(app, actors, claim, content, filename)
        db.session.expire_all()

        assert response.status_code == 422
        assert "photo" in response.get_json()["errors"]
        assert db.session.get(Claim, claim.id).photo_name is None
        assert not list(app.config["UPLOAD_DIR"].rglob("*.*"))

    def test_traversal_filename_ignored(self, app, world, actors, claim):
        response = self.submit(
            app, actors, claim, image_bytes("JPEG"), "../../instance/secret_key"
        )
        db.session.expire_all()

        assert response.status_code == 200, response.get_json()
        assert GENERATED_NAME.match(db.session.get(Claim, claim.id).photo_name)
        assert not (app.config["INSTANCE_DIR"] / "secret_key").exists()
