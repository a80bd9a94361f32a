#!/bin/sh
# Build a CPython 3.11 base image from a Debian mirror, for a build host that reaches a Debian
# mirror and PyPI but no container registry (the hub's offline build machines; an air-gapped
# data center with its own mirrors). It stands in for python:3.11-slim: Debian bookworm's
# python3.11 with pip, the C headers (the compile stage builds the core with mypyc) and
# `python`/`pip` on the PATH.
#
#   ops/debian-python-image.sh TAG [MIRROR]      (root, debootstrap and a Docker daemon)
#   docker build --network host --build-arg PYTHON_IMAGE=TAG -t axhub:dev .
#
# The host's CA bundle goes into the image (a TLS-inspecting egress proxy's CA included), and
# pip and uv are told to use it. Without a registry there is no PyTorch index either: pass
# --build-arg TORCH_INDEX=<a local simple index> (any folder of wheels served over HTTP).
set -eu
tag=${1:?usage: ops/debian-python-image.sh TAG [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
chmod 755 "$rootfs"  # the image's / (mktemp's 0700 would lock out every user but root)
debootstrap --variant=minbase \
  --include=python3.11,python3.11-dev,python3-pip,python3-venv,python3-setuptools,ca-certificates \
  bookworm "$rootfs" "$mirror"
# pip may install into the system interpreter, as in the official image
rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
ln -sf python3 "$rootfs/usr/bin/python"
ln -sf pip3 "$rootfs/usr/bin/pip"
bundle=/etc/ssl/certs/ca-certificates.crt
cp "$bundle" "$rootfs$bundle"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8" \
  -c "ENV PIP_CERT=$bundle SSL_CERT_FILE=$bundle REQUESTS_CA_BUNDLE=$bundle" \
  -c 'CMD ["python3"]' - "$tag"
echo "built $tag"
