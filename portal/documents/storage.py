"""Where archived files live. One small interface, two implementations:

- `LocalStorage` (default): a folder, DOCUMENT_DIR (default <instance>/documents). A file is
  written under a temporary name in the same folder and renamed into place, so a reader — or a
  worker killed mid-write — never sees half a file under its real name.
- `S3Storage`: any S3-compatible service (MinIO, Ceph, AWS) for several web/worker machines:
  DOCUMENT_STORAGE=s3, S3_BUCKET, S3_PREFIX (optional), S3_ENDPOINT_URL (e.g. http://minio:9000),
  credentials from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION.
  An object appears whole or not at all (PUT is atomic).

Keys are made by the archive (`<unit id>/<document id>-r<revision>.<ext>`) and never reused for
different content: nothing is ever overwritten or deleted through this interface.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

STALE_TEMP_SECONDS = 3600  # temp files of writers that died (SIGKILL) are swept after this


class Storage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"bad storage key: {key!r}")
    return key


class LocalStorage:
    TEMP_PREFIX = ".tmp-"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sweep_stale_temps(path.parent)
        tmp = path.parent / f"{self.TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}"
        try:
            with open(tmp, "xb") as f:
                self._write(f, data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic on one file system
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _write(self, f: BinaryIO, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), 1 << 20):
            f.write(view[start:start + (1 << 20)])

    def _sweep_stale_temps(self, folder: Path) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for tmp in folder.glob(self.TEMP_PREFIX + "*"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except FileNotFoundError:
                pass

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", client=None, **client_kwargs):
        if client is None:
            import boto3

            client = boto3.client("s3", **{k: v for k, v in client_kwargs.items() if v})
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def save(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise


def _setting(name: str, default: str = "") -> str:
    return str(current_app.config.get(name) or os.environ.get(name) or default)


def get_storage() -> Storage:
    """The storage configured for this app (one instance per app)."""
    ext = current_app.extensions
    if "portal_document_storage" not in ext:
        if _setting("DOCUMENT_STORAGE", "local").lower() == "s3":
            ext["portal_document_storage"] = S3Storage(
                _setting("S3_BUCKET"), _setting("S3_PREFIX"), endpoint_url=_setting("S3_ENDPOINT_URL") or None)
        else:
            root = _setting("DOCUMENT_DIR") or os.path.join(current_app.instance_path, "documents")
            ext["portal_document_storage"] = LocalStorage(root)
    return ext["portal_document_storage"]
