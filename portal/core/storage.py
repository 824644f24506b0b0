"""Where files live: one small interface for every area, two implementations, one configuration.

Two namespaces share it: attachments (`ATTACHMENTS`: ticket and comment files and their thumbnails)
and the archive (`ARCHIVE`: letters, summaries, uploaded documents).

- `LocalStore` (default): a folder per namespace — UPLOAD_DIR (default <instance>/uploads) and
  DOCUMENT_DIR (default <instance>/documents). A file is written under a temporary name in the same
  folder and then linked to its real name, so a reader — or a worker killed mid-write — never sees
  half a file under its real name, and an existing name is refused rather than replaced.
- `S3Store`: any S3-compatible service (MinIO, Ceph, AWS), so several web/worker machines share the
  files: FILE_STORAGE=s3 (DOCUMENT_STORAGE=s3, its older name, still works), S3_BUCKET, S3_PREFIX
  (optional), S3_ENDPOINT_URL (e.g. http://minio:9000), credentials from the usual AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION. The archive's objects stay where they were when only the
  archive used S3, `<S3_PREFIX>/<key>`; the attachments' are `<S3_PREFIX>/uploads/<key>`; archive keys
  begin with a unit id, so the two never meet. A PUT is atomic and sent with `If-None-Match: *`: the store refuses to
  replace an existing object.

Files are written whole and never overwritten or deleted through this interface; the areas make keys
that are never reused (random names, or ids plus a random part).
"""
from __future__ import annotations

import errno
import os
import secrets
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Response, current_app, send_file
from flask_babel import lazy_gettext as _l

from portal.core.security import standalone_error

ATTACHMENTS = "uploads"
ARCHIVE = "documents"
NAMESPACES = (ATTACHMENTS, ARCHIVE)
STALE_TEMP_SECONDS = 3600  # temp files of writers that died (SIGKILL) are swept after this
_EXTENSION_KEY = "portal_file_stores"


class AlreadyStored(FileExistsError):
    """The key holds a file already; it is never replaced."""


class StoreUnavailable(OSError):
    """The store cannot be used just now (object store unreachable or failing, disk full …): a 503, not a 500."""


class Store(Protocol):
    def save(self, key: str, data: bytes) -> None:
        """Write the whole file under `key`; AlreadyStored if the key exists."""

    def open(self, key: str) -> BinaryIO:
        """The file for reading; FileNotFoundError if there is none."""

    def reader(self, key: str) -> tuple[BinaryIO, int]:
        """The file for reading and its size; FileNotFoundError if there is none."""

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """The file's path when it is a local file (None for an object store)."""


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\x00" in key:
        raise ValueError(f"bad storage key: {key!r}")
    return key


class LocalStore:
    TEMP_PREFIX = ".tmp-"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sweep_stale_temps(path.parent)
        if path.exists():
            raise AlreadyStored(key)
        tmp = path.parent / f"{self.TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}"
        try:
            with open(tmp, "xb") as f:
                self._write(f, data)
                f.flush()
                os.fsync(f.fileno())
            self._publish(tmp, path, key)
        except AlreadyStored:
            raise
        except OSError as e:  # disk full, read-only, I/O error
            raise StoreUnavailable(f"{key}: {e}") from e
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _publish(tmp: Path, path: Path, key: str) -> None:
        # A hard link appears atomically and, unlike a rename, fails when the name exists.
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise AlreadyStored(key) from None
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # a file system without hard links: rename, after the check above
            if path.exists():
                raise AlreadyStored(key) from None
            os.rename(tmp, path)

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

    def reader(self, key: str) -> tuple[BinaryIO, int]:
        f = self.open(key)
        return f, os.fstat(f.fileno()).st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path:
        return self._path(key)


_MISSING = ("404", "NoSuchKey", "NotFound")
_REFUSED = ("412", "PreconditionFailed", "409", "ConditionalRequestConflict")


def _code(error) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unavailable(key: str, error) -> StoreUnavailable | None:
    """The store's own trouble (unreachable, timing out, answering 5xx), as StoreUnavailable; None otherwise."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, BotoCoreError):
        return StoreUnavailable(f"{key}: {error}")
    if isinstance(error, ClientError) and error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return StoreUnavailable(f"{key}: {error}")
    return None


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", client=None, **client_kwargs):
        if not bucket:
            raise RuntimeError("FILE_STORAGE=s3 needs S3_BUCKET")
        if client is None:
            client = s3_client(**client_kwargs)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
        except (BotoCoreError, ClientError) as e:
            if isinstance(e, ClientError) and _code(e) in _REFUSED:
                raise AlreadyStored(key) from e
            raise (_unavailable(key, e) or e) from e

    def reader(self, key: str) -> tuple[BinaryIO, int]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as e:
            if isinstance(e, ClientError) and _code(e) in _MISSING:
                raise FileNotFoundError(key) from e
            raise (_unavailable(key, e) or e) from e
        return obj["Body"], obj["ContentLength"]  # the body streams from the store as it is read

    def open(self, key: str) -> BinaryIO:
        return self.reader(key)[0]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except (BotoCoreError, ClientError) as e:
            if isinstance(e, ClientError) and _code(e) in _MISSING:
                return False
            raise (_unavailable(key, e) or e) from e

    def local_path(self, key: str) -> None:
        return None


def s3_client(**kwargs):
    import boto3
    from botocore.config import Config

    # A web request waits seconds, not botocore's default minute, for a store that does not answer.
    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("s3", config=config, **{k: v for k, v in kwargs.items() if v})


# --- configuration ---------------------------------------------------------------------------

def setting(name: str, default: str = "") -> str:
    return str(current_app.config.get(name) or os.environ.get(name) or default)


def backend() -> str:
    """`local` or `s3`: FILE_STORAGE, or DOCUMENT_STORAGE (its name from when only the archive used it)."""
    value = (setting("FILE_STORAGE") or setting("DOCUMENT_STORAGE") or "local").strip().lower()
    if value not in ("local", "s3"):
        raise RuntimeError(f"FILE_STORAGE must be 'local' or 's3', not {value!r}")
    return value


def local_folder(namespace: str) -> Path:
    """The folder configured for a namespace (in use only with local storage)."""
    if namespace not in NAMESPACES:
        raise KeyError(namespace)
    if namespace == ATTACHMENTS:
        return Path(current_app.config["UPLOAD_DIR"])
    return Path(setting("DOCUMENT_DIR") or os.path.join(current_app.instance_path, "documents"))


def local_root(namespace: str) -> Path | None:
    """The folder of a namespace, or None when the files live in the object store."""
    folder = local_folder(namespace)
    return None if backend() == "s3" else folder


def _s3_prefix(namespace: str) -> str:
    base = setting("S3_PREFIX").strip("/")
    if namespace == ARCHIVE:
        return base  # where the archive has always been
    return f"{base}/{namespace}" if base else namespace


def get_store(namespace: str) -> Store:
    """The store of a namespace for this app (made once per app; one S3 client for both)."""
    stores = current_app.extensions.setdefault(_EXTENSION_KEY, {})
    if namespace not in stores:
        root = local_root(namespace)
        if root is not None:
            stores[namespace] = LocalStore(root)
        else:
            if "client" not in stores:
                stores["client"] = s3_client(endpoint_url=setting("S3_ENDPOINT_URL") or None)
            stores[namespace] = S3Store(setting("S3_BUCKET"), _s3_prefix(namespace), client=stores["client"])
    return stores[namespace]


_STORE_UNAVAILABLE = _l("The file storage cannot be reached just now. Try again in a moment.")


def init_app(app) -> None:
    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(e):
        # Files are written before the rows that name them commit: a failed write leaves no row behind.
        current_app.logger.warning("file storage unavailable: %s", e)
        return standalone_error(503, _STORE_UNAVAILABLE)


def forget_stores(app) -> None:
    """Drop the app's stores, so the next use reads the configuration again (tests change it)."""
    app.extensions.pop(_EXTENSION_KEY, None)


def send(store: Store, key: str, *, mimetype: str, as_attachment: bool = False, download_name: str | None = None,
         etag: str | bool = True, conditional: bool = True) -> Response:
    """A response that streams the stored file: from its path when local (ranges and conditional requests
    as for any file), else the object store's body as it arrives. FileNotFoundError if there is none."""
    path = store.local_path(key)
    if path is not None:
        return send_file(path, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         max_age=0, etag=etag, conditional=conditional)
    body, size = store.reader(key)
    resp = send_file(body, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                     max_age=0, etag=etag if isinstance(etag, str) else False, conditional=False)
    resp.content_length = size
    return resp


# --- moving to the object store -----------------------------------------------------------------

def copy_folders_into_store(echo=lambda line: None) -> list[str]:
    """Copy every file of the local folders (UPLOAD_DIR, DOCUMENT_DIR) into the object store under the
    same keys — what an installation that turns FILE_STORAGE=s3 on needs once. Safe to run again: a
    file already there with the same bytes is skipped. Returns the problems (an object with other bytes)."""
    if backend() != "s3":
        raise RuntimeError("set FILE_STORAGE=s3 (and S3_BUCKET …) first: the files are copied into that store")
    problems = []
    for namespace in NAMESPACES:
        folder, store = local_folder(namespace), get_store(namespace)
        copied = present = 0
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if not path.is_file() or path.name.startswith(LocalStore.TEMP_PREFIX) or path.name.endswith(".part"):
                continue  # a writer's temporary file, never a stored one
            key = path.relative_to(folder).as_posix()
            data = path.read_bytes()
            try:
                store.save(key, data)
                copied += 1
            except AlreadyStored:
                with store.open(key) as f:
                    if f.read() != data:
                        problems.append(f"{namespace}/{key}: the store holds other bytes under this key")
                        continue
                present += 1
        echo(f"{namespace}: {copied} copied, {present} already there, from {folder}")
    return problems


def register(app) -> None:
    import click

    @app.cli.command("storage-copy-local")
    def copy_local_command():
        """Copy the files of UPLOAD_DIR and DOCUMENT_DIR into the S3-compatible store (FILE_STORAGE=s3)."""
        try:
            problems = copy_folders_into_store(echo=click.echo)
        except RuntimeError as e:
            raise click.ClickException(str(e))
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        if problems:
            raise click.ClickException(f"{len(problems)} files differ from the objects under their keys")
