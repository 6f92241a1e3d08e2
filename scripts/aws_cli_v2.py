"""Installs AWS CLI v2 into <repo>/.venv-cliv2 for the tests that need it (`aws logs tail`),
and prints the path of its `aws`.

AWS CLI v2 is not on PyPI. Debian packages it (`awscli`, architecture `all`, from trixie on):
this takes the package named in deb.debian.org's current trixie index, checks its SHA-256,
unpacks its pure-Python `awscli` (v2 carries its own botocore) into a venv of the running
interpreter, and installs its dependencies from PyPI with the versions its metadata asks for.
Nothing is done when the venv already has a working CLI v2.

Usage: python3 scripts/aws_cli_v2.py   (exit status 1, with the reason on stderr, on failure)
"""

import hashlib
import lzma
import pathlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request

MIRROR = "http://deb.debian.org/debian"
INDEX = MIRROR + "/dists/trixie/main/binary-all/Packages.xz"
REPO = pathlib.Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-cliv2"
AWS = VENV / "bin" / "aws"


def cli_v2_works() -> bool:
    try:
        out = subprocess.run([str(AWS), "--version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.startswith("aws-cli/2.")


def package_stanza(index: bytes, name: str) -> dict:
    for stanza in lzma.decompress(index).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Package") == name:
            return fields
    raise SystemExit("aws_cli_v2: no %s package in %s" % (name, INDEX))


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def main() -> None:
    if cli_v2_works():
        print(AWS)
        return
    pkg = package_stanza(fetch(INDEX), "awscli")
    deb = fetch("%s/%s" % (MIRROR, pkg["Filename"]))
    if hashlib.sha256(deb).hexdigest() != pkg["SHA256"]:
        raise SystemExit("aws_cli_v2: %s does not match the index's SHA-256" % pkg["Filename"])
    shutil.rmtree(VENV, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        deb_path = pathlib.Path(tmp) / "awscli.deb"
        deb_path.write_bytes(deb)
        root = pathlib.Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb_path), str(root)], check=True)
        dist = root / "usr" / "lib" / "python3" / "dist-packages"
        metadata = next(dist.glob("awscli-*.dist-info")) / "METADATA"
        requirements = [
            line.split(":", 1)[1].strip()
            for line in metadata.read_text().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        site = subprocess.run(
            [str(VENV / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        shutil.copytree(dist / "awscli", pathlib.Path(site) / "awscli")
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        check=True,
    )
    AWS.write_text('#!/bin/sh\nexec "%s" -m awscli "$@"\n' % (VENV / "bin" / "python"))
    AWS.chmod(0o755)
    if not cli_v2_works():
        raise SystemExit("aws_cli_v2: %s --version does not report aws-cli/2" % AWS)
    print(AWS)


if __name__ == "__main__":
    main()
