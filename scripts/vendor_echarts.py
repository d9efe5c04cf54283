"""Refresh the vendored ECharts in server/static/vendor/ from the npm registry.

    python scripts/vendor_echarts.py            # the versions recorded in server/static/vendor/VERSIONS
    python scripts/vendor_echarts.py 6.2.0      # another ECharts version

The pages load ECharts from the server itself (no CDN: they must work offline and under a strict
Content-Security-Policy), as one minified ES module holding only what they draw: the charts and
components scripts/echarts_entry.js names. `npm install` fetches echarts and the esbuild version
recorded here into a temporary folder, esbuild bundles the entry into
server/static/vendor/echarts.min.js (about half the full build: a page compiles it in a quarter of
the time), and the licences of everything the bundle holds are copied beside it — ECharts'
Apache-2.0 with its NOTICE and the d3 code it embeds, zrender's BSD-3-Clause, tslib's 0BSD.
VERSIONS records the versions and each file's checksum; tests/test_dashboards.py checks the files
against it. Needs node and npm; writes nothing outside server/static/vendor/.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "server" / "static" / "vendor"
ENTRY = Path(__file__).with_name("echarts_entry.js")
BUNDLE = "echarts.min.js"
ESBUILD = "0.25.12"  # the bundler is pinned: a new one may lay the same code out differently


def recorded_version() -> str:
    for line in (VENDOR / "VERSIONS").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition(" ")
        if name == "echarts":
            return version.split()[0]
    raise SystemExit("VERSIONS records no echarts version — pass one: python scripts/vendor_echarts.py 6.1.0")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def installed_version(modules: Path, package: str) -> str:
    return str(json.loads((modules / package / "package.json").read_text(encoding="utf-8"))["version"])


def build(version: str, work: Path) -> Path:
    """Install echarts and esbuild into `work` and bundle the entry; the node_modules folder."""
    (work / "package.json").write_text('{"private": true}\n', encoding="utf-8")
    npm = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([*npm, f"echarts@{version}", f"esbuild@{ESBUILD}"], cwd=work, check=True)
    shutil.copy(ENTRY, work / "entry.js")
    esbuild = work / "node_modules" / ".bin" / "esbuild"
    bundle = [str(esbuild), "entry.js", "--bundle", "--minify", "--format=esm", "--legal-comments=eof"]
    subprocess.run([*bundle, f"--outfile={BUNDLE}"], cwd=work, check=True)
    return work / "node_modules"


def main(version: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        modules = build(version, Path(tmp))
        files = {
            BUNDLE: Path(tmp) / BUNDLE,
            "ECHARTS-LICENSE": modules / "echarts" / "LICENSE",
            "ECHARTS-NOTICE": modules / "echarts" / "NOTICE",
            "LICENSE-d3": modules / "echarts" / "licenses" / "LICENSE-d3",
            "ZRENDER-LICENSE": modules / "zrender" / "LICENSE",
            "TSLIB-LICENSE": modules / "tslib" / "LICENSE.txt",
        }
        for old in VENDOR.glob("*"):
            old.unlink()
        VENDOR.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            (VENDOR / name).write_bytes(source.read_bytes())
        versions = {package: installed_version(modules, package) for package in ("echarts", "zrender", "tslib")}
    lines = [
        f"echarts {versions['echarts']} (npm; bundled by esbuild {ESBUILD} from scripts/echarts_entry.js)",
        f"zrender {versions['zrender']}",
        f"tslib {versions['tslib']}",
        *(f"sha256 {sha256(VENDOR / name)} {name}" for name in files),
    ]
    (VENDOR / "VERSIONS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"vendored echarts {versions['echarts']} ({(VENDOR / BUNDLE).stat().st_size:,} bytes) into {VENDOR}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else recorded_version())
