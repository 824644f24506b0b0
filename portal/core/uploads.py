"""Uploaded files: allowlisted by extension *and* content, size-limited, stored outside
static/ under random names in the attachments' store (portal.core.storage: a local folder, UPLOAD_DIR,
or the S3-compatible object store), and served only through access-checked routes."""
from __future__ import annotations

import io
import os
import re
import secrets
from dataclasses import dataclass

import filetype
from flask import Response, abort, current_app, request
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from portal.core import storage

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp", "bmp"}
# extension → the kinds `filetype` may detect in the content (None: a text file, checked separately)
ALLOWED: dict[str, set[str] | None] = {
    "jpg": {"jpg"}, "jpeg": {"jpg"}, "png": {"png", "apng"}, "gif": {"gif"}, "webp": {"webp"}, "bmp": {"bmp"},
    "pdf": {"pdf"},
    "doc": {"doc"}, "xls": {"xls"}, "ppt": {"ppt"},
    "docx": {"docx", "zip"}, "xlsx": {"xlsx", "zip"}, "pptx": {"pptx", "zip"},
    "zip": {"zip"}, "rar": {"rar"}, "7z": {"7z"},
    "txt": None, "log": None, "csv": None,
}
MIME = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "bmp": "image/bmp", "pdf": "application/pdf", "doc": "application/msword",
    "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "zip": "application/zip", "rar": "application/vnd.rar", "7z": "application/x-7z-compressed",
    "txt": "text/plain; charset=utf-8", "log": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
}
_MARKUP = (b"<html", b"<!doctype", b"<svg", b"<script", b"<?xml", b"<body", b"<iframe")
# An image may carry none of these anywhere: a valid GIF/JPEG with HTML appended (a polyglot) is refused.
# (<?xml is left out: XMP metadata in ordinary photos holds XML.)
_MARKUP_IN_IMAGES = (b"<html", b"<!doctype", b"<svg", b"<script", b"<body", b"<iframe", b"<object", b"<embed")
THUMB_SIZE = (240, 240)


class UploadError(Exception):
    def __init__(self, filename: str, message):
        super().__init__(f"{filename}: {message}")
        self.filename = filename
        self.message = message


@dataclass
class CheckedFile:
    filename: str
    extension: str
    content: bytes
    content_type: str
    is_image: bool


MAX_NAME = 200
# Control characters (NUL, tab, CR, LF, DEL, C1) and the invisible ones that reorder or hide text (bidi
# overrides make "invoice<U+202E>fdp.exe" look like a PDF): none belongs in a file name shown to staff.
_NAME_NOISE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")


def _clean_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = _NAME_NOISE.sub(" ", name).strip()
    if len(name) > MAX_NAME:
        # Shortened before the extension, not through it: a long "…报告.txt" stays a .txt.
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 16:
            name = stem[:MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name or "file"


def unreadable_files(field_name: str) -> list[str]:
    """One message per file of `field_name` that arrived without a readable name. A bare CR or LF in a
    file name breaks its part's header, and Werkzeug then hands the content over as a plain form field:
    the file itself is lost, so the form must be refused rather than saved without it."""
    return [str(_l("A file's name could not be read (it holds a line break or another control character), so "
                   "the file was not received. Rename it and attach it again."))
            for _ in request.form.getlist(field_name)]


def check(upload: FileStorage) -> CheckedFile:
    name = _clean_name(upload.filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        raise UploadError(name, _l("This file type is not allowed."))
    limit = current_app.config["MAX_FILE_BYTES"]
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise UploadError(name, _l("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))
    if not content:
        raise UploadError(name, _l("The file is empty."))
    kinds = ALLOWED[ext]
    if kinds is None:
        head = content[:2048].lower()
        if b"\x00" in content[:8192] or any(m in head for m in _MARKUP):
            raise UploadError(name, _l("The file's content does not match its type."))
    else:
        guessed = filetype.guess(content)
        if guessed is None or guessed.extension not in kinds:
            raise UploadError(name, _l("The file's content does not match its type."))
    is_image = ext in IMAGE_EXTENSIONS
    if is_image:
        lowered = content.lower()
        if any(m in lowered for m in _MARKUP_IN_IMAGES):
            raise UploadError(name, _l("The file's content does not match its type."))
        try:
            with Image.open(io.BytesIO(content)) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise UploadError(name, _l("The image cannot be read."))
    return CheckedFile(name, ext, content, MIME[ext], is_image)


def check_all(uploads: list[FileStorage]) -> tuple[list[CheckedFile], list[str]]:
    """Check every file; return the good ones and one Chinese message per bad one."""
    good, errors = [], []
    for up in uploads:
        if not up or not up.filename:
            continue
        try:
            good.append(check(up))
        except UploadError as e:
            errors.append(f"{e.filename}: {e.message}")
    return good, errors


def download_name(name: str, default: str = "file") -> str:
    """A name for Content-Disposition: no control characters (a CR/LF in a unit name or file name would
    otherwise make the header invalid — Werkzeug refuses it with a 500) and no path."""
    name = re.sub(r"[\x00-\x1f\x7f]+", " ", name or "").replace("/", "_").replace("\\", "_").strip()
    return name[:200] or default


def file_store() -> storage.Store:
    return storage.get_store(storage.ATTACHMENTS)


def key_of(stored_name: str, thumb: bool = False) -> str:
    """The storage key of an attachment (or its thumbnail): `<first two>/<name>`, as on disk since the start."""
    if not stored_name.isalnum():
        raise FileNotFoundError(stored_name)
    return f"{stored_name[:2]}/{stored_name}" + (".thumb.jpg" if thumb else "")


def store(f: CheckedFile) -> str:
    """Write the file (and a re-encoded thumbnail for images) under a random name; return it."""
    stored = secrets.token_hex(16)
    files = file_store()
    files.save(key_of(stored), f.content)
    if f.is_image:
        thumb = _thumbnail(f.content)
        if thumb is not None:
            files.save(key_of(stored, thumb=True), thumb)
    return stored


def _thumbnail(content: bytes) -> bytes | None:
    try:
        with Image.open(io.BytesIO(content)) as im:
            im = im.convert("RGB")
            im.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80)
            return out.getvalue()
    except (OSError, ValueError):
        return None  # the page shows the file's name instead


def read(stored_name: str, thumb: bool = False) -> bytes:
    with file_store().open(key_of(stored_name, thumb)) as f:
        return f.read()


def send(stored_name: str, *, thumb: bool, content_type: str, filename: str) -> Response:
    """The attachment as a download, or its thumbnail (re-encoded by us: safe to show inline);
    FileNotFoundError if there is none. The caller has checked access."""
    key = key_of(stored_name, thumb=thumb)
    if thumb:
        return storage.send(file_store(), key, mimetype="image/jpeg")
    return storage.send(file_store(), key, mimetype=content_type, as_attachment=True,
                        download_name=download_name(filename))


def serve(att, *, thumb: bool = False):
    """An uploaded file (a ticket's or an article's attachment: stored_name, content_type, filename, is_image) as
    a download that cannot run in the portal's origin; 404 when the stored file is gone."""
    try:
        resp = send(att.stored_name, thumb=thumb and att.is_image, content_type=att.content_type,
                    filename=att.filename)
    except FileNotFoundError:
        abort(404)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
