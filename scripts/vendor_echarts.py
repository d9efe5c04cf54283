"""Refresh the vendored ECharts in server/static/vendor/ from the npm registry.

    python scripts/vendor_echarts.py            # the version recorded in server/static/vendor/VERSIONS
    python scripts/vendor_echarts.py 6.2.0      # another version

The pages load ECharts from the server itself (no CDN: they must work offline and under a strict
Content-Security-Policy), as one minified ES module. `npm pack` fetches the published tarballs of
echarts and of the zrender version it depends on (bundled into ECharts' dist file); this script
copies the ES-module build and the licences the bundle carries (ECharts' Apache-2.0 with its NOTICE,
the d3 code it embeds, zrender's BSD-3-Clause), and records versions and checksums in VERSIONS,
which tests/test_pages.py checks the files against. Needs npm; writes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "server" / "static" / "vendor"
BUNDLE = "echarts.esm.min.js"


def recorded_version() -> str:
    for line in (VENDOR / "VERSIONS").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition(" ")
        if name == "echarts":
            return version.split()[0]
    raise SystemExit("VERSIONS records no echarts version — pass one: python scripts/vendor_echarts.py 6.1.0")


def pack(spec: str, into: Path) -> Path:
    """The package's published tarball, unpacked into a folder of its own; its `package/` folder."""
    out = subprocess.run(
        ["npm", "pack", spec, "--pack-destination", str(into), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    filename = json.loads(out.stdout)[0]["filename"]
    target = into / filename.removesuffix(".tgz")
    with tarfile.open(into / filename) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(version: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        echarts = pack(f"echarts@{version}", Path(tmp))
        manifest = json.loads((echarts / "package.json").read_text(encoding="utf-8"))
        zrender = pack(f"zrender@{manifest['dependencies']['zrender']}", Path(tmp))
        zrender_version = json.loads((zrender / "package.json").read_text(encoding="utf-8"))["version"]
        VENDOR.mkdir(parents=True, exist_ok=True)
        files = {
            BUNDLE: echarts / "dist" / BUNDLE,
            "ECHARTS-LICENSE": echarts / "LICENSE",
            "ECHARTS-NOTICE": echarts / "NOTICE",
            "LICENSE-d3": echarts / "licenses" / "LICENSE-d3",
            "ZRENDER-LICENSE": zrender / "LICENSE",
        }
        for name, source in files.items():
            (VENDOR / name).write_bytes(source.read_bytes())
    lines = [
        f"echarts {manifest['version']} (npm; dist/{BUNDLE}, with zrender bundled)",
        f"zrender {zrender_version}",
        *(f"sha256 {sha256(VENDOR / name)} {name}" for name in files),
    ]
    (VENDOR / "VERSIONS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"vendored echarts {manifest['version']} and zrender {zrender_version} into {VENDOR}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else recorded_version())
