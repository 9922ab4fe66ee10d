"""A real S3 API on loopback: moto's server in a child process, and prefect-aws blocks on it.

moto runs in its own process (not a thread of the test's), so what it keeps of the uploaded
objects never counts in the test process's memory.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect_aws import AwsClientParameters, AwsCredentials
from prefect_aws.s3 import S3Bucket

from helpers.prefect_server import background, wait_http_ok
from zoom_emulator import free_port


@contextmanager
def moto_s3(log: Path) -> Iterator[str]:
    """moto's S3 server on a free loopback port; its endpoint URL. Stopped on exit."""
    port = free_port()
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with background(args, dict(os.environ), log) as process:
        endpoint = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{endpoint}/moto-api/data.json", process, log, deadline=60)
        yield endpoint


def new_bucket(endpoint: str, folder: str = "zoom") -> S3Bucket:
    """A new, empty bucket on the server, as prefect-aws's ``S3Bucket`` block (``folder`` as its
    ``bucket_folder``)."""
    credentials = AwsCredentials(
        aws_access_key_id="moto",
        aws_secret_access_key="moto-secret",
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=endpoint),
    )
    name = f"zoom-{uuid.uuid4().hex[:12]}"
    credentials.get_s3_client().create_bucket(Bucket=name)
    return S3Bucket(bucket_name=name, credentials=credentials, bucket_folder=folder)


def object_sizes(bucket: S3Bucket) -> dict[str, int]:
    """Every object under the bucket's folder: key relative to the folder → size."""
    client = bucket.credentials.get_s3_client()
    prefix = f"{bucket.bucket_folder}/" if bucket.bucket_folder else ""
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket.bucket_name, Prefix=prefix
    )
    return {
        item["Key"][len(prefix) :]: item["Size"]
        for page in pages
        for item in page.get("Contents", [])
    }


def object_bytes(bucket: S3Bucket, relative_path: str) -> bytes:
    """The bytes of the object at ``relative_path`` under the bucket's folder."""
    key = f"{bucket.bucket_folder}/{relative_path}" if bucket.bucket_folder else relative_path
    answer = bucket.credentials.get_s3_client().get_object(Bucket=bucket.bucket_name, Key=key)
    data: bytes = answer["Body"].read()
    return data
