"""A real S3-compatible server for the tests: moto's standalone S3 server over HTTP.

MinIO cannot be installed here (no downloads beyond PyPI, npm and Debian), so the tests start
moto's server (``moto[server]``) as a subprocess on a free port, once per test session; the hub
and MLflow talk to it with boto3 exactly as they would to MinIO or Ceph, and the tests look into
the buckets with a boto3 client of their own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

KEY_ID, SECRET = "axhub-test-key", "axhub-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server as a subprocess (working directory outside the tree)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = tmp_path_factory.mktemp("moto")
    env = os.environ | {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto's S3 server did not start")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    """A boto3 client of the tests' own, to look into the bucket independently of the hub."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
