"""The storage interface: the local folder refuses keys that would leave it; the S3-compatible
option stores and reads objects through the S3 API (exercised with botocore's Stubber: no network)."""
from __future__ import annotations

import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from portal.documents.storage import LocalStorage, S3Storage


@pytest.mark.parametrize("key", ["../x.pdf", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "./a"])
def test_local_storage_refuses_keys_outside_its_folder(tmp_path, key):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).save(key, b"x")


def test_local_storage_round_trip(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.save("3/9-r1.pdf", b"%PDF-1.7 data")
    assert storage.exists("3/9-r1.pdf") and not storage.exists("3/9-r2.pdf")
    with storage.open("3/9-r1.pdf") as f:
        assert f.read() == b"%PDF-1.7 data"


def test_s3_storage_puts_reads_and_checks_objects_under_its_prefix():
    client = boto3.client("s3", region_name="cn-north-1", aws_access_key_id="k", aws_secret_access_key="s",
                          endpoint_url="http://minio.invalid:9000")
    storage = S3Storage("archive", "portal/", client=client)
    with Stubber(client) as stub:
        stub.add_response("put_object", {}, {"Bucket": "archive", "Key": "portal/3/9-r1.pdf", "Body": b"%PDF-1.7"})
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(b"%PDF-1.7"), 8)},
                          {"Bucket": "archive", "Key": "portal/3/9-r1.pdf"})
        stub.add_response("head_object", {}, {"Bucket": "archive", "Key": "portal/3/9-r1.pdf"})
        stub.add_client_error("head_object", "404", http_status_code=404,
                              expected_params={"Bucket": "archive", "Key": "portal/3/9-r2.pdf"})
        storage.save("3/9-r1.pdf", b"%PDF-1.7")
        assert storage.open("3/9-r1.pdf").read() == b"%PDF-1.7"
        assert storage.exists("3/9-r1.pdf") is True
        assert storage.exists("3/9-r2.pdf") is False
        stub.assert_no_pending_responses()
    with pytest.raises(ValueError):
        storage.save("../outside.pdf", b"x")
