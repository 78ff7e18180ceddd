"""Install a pinned uv into .tools/bin with nothing but the Python standard library.

A fresh Debian or Ubuntu machine may have Python without pip or the venv module, so the uv wheel
is fetched from the package index, checked against the hash pinned below, and its binary unpacked.
Set UV_INDEX_URL to use a mirror of the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import sys
import urllib.request
import zipfile
from pathlib import Path

UV_VERSION = "0.13.8"
# sha256 of each wheel, as listed by the package index for this version.
WHEELS = {
    ("Linux", "x86_64"): (
        "uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984",
    ),
    ("Linux", "aarch64"): (
        "uv-0.13.8-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        "0b3e8b1a4f5e405e31e2ff33de8af4744831e9f7338539671efbd8c3c94e791d",
    ),
    ("Darwin", "arm64"): (
        "uv-0.13.8-py3-none-macosx_11_0_arm64.whl",
        "62b6943c7fd64fac6854f780bea6e0359e5a5bc3241f83ee357bb38276afac49",
    ),
    ("Darwin", "x86_64"): (
        "uv-0.13.8-py3-none-macosx_10_12_x86_64.whl",
        "b7124ca1956ec2e476a1003ea5715a15f0266afaec37f4dc9c6972ba8183e6d1",
    ),
}


def wheel_url(index_url: str, filename: str) -> str:
    """Look the wheel up in the index's JSON simple API (PEP 691)."""
    request = urllib.request.Request(
        f"{index_url.rstrip('/')}/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    for item in files:
        if item["filename"] == filename:
            return item["url"]
    raise SystemExit(f"{filename} is not on {index_url}; set UV_INDEX_URL to an index that has it.")


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".tools") / "bin" / "uv"
    key = (platform.system(), platform.machine())
    if key not in WHEELS:
        raise SystemExit(f"No pinned uv wheel for {key}: install uv {UV_VERSION} yourself and put it on PATH.")
    filename, expected = WHEELS[key]
    index_url = os.environ.get("UV_INDEX_URL", "https://pypi.org/simple")
    with urllib.request.urlopen(wheel_url(index_url, filename), timeout=300) as response:
        payload = response.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected:
        raise SystemExit(f"Hash mismatch for {filename}: got {digest}, expected {expected}. Nothing was installed.")
    wheel_path = target.parent / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    wheel_path.write_bytes(payload)
    with zipfile.ZipFile(wheel_path) as wheel:
        target.write_bytes(wheel.read(f"uv-{UV_VERSION}.data/scripts/uv"))
    wheel_path.unlink()
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"Installed uv {UV_VERSION} at {target}")


if __name__ == "__main__":
    main()
