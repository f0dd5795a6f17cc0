"""Assembles one architecture's release from its built bootstraps (scripts/package).

Runs with the SAM CLI's Python (.tools/sam/bin/python): its YAML helper reads
and writes CloudFormation's short-form intrinsics (!Ref, !Sub ...) the way
`sam package` does.
"""

import argparse
import hashlib
import os
import re
import shutil
import sys
import time
import tomllib
import zipfile
from pathlib import Path

from samcli.yamlhelper import yaml_dump, yaml_parse

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {"ReceiverFunction": "receiver", "ProcessorFunction": "processor"}
# Lambda's provided.al2023 runtime has glibc 2.34: a binary asking for a newer
# symbol version would fail to start there, long after the release was made.
RUNTIME_GLIBC_MINOR = 34
DOCS = ["README.md", "LICENSE", "CHANGELOG.md"]


def fail(message):
    sys.exit(f"package: {message}")


def version():
    with open(ROOT / "Cargo.toml", "rb") as manifest:
        return tomllib.load(manifest)["workspace"]["package"]["version"]


def zip_time():
    # Zip timestamps start in 1980; the commit's time makes a rebuild identical.
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)
    return time.gmtime(epoch)[:6]


def add_file(archive, name, data, mode):
    info = zipfile.ZipInfo(name, date_time=zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix: Lambda reads the mode from the external attributes.
    info.external_attr = (0o100000 | mode) << 16
    archive.writestr(info, data, compresslevel=9)


def check_glibc(bootstrap):
    wanted = {int(m) for m in re.findall(rb"GLIBC_2\.(\d+)", bootstrap.read_bytes())}
    newest = max(wanted, default=0)
    if newest > RUNTIME_GLIBC_MINOR:
        fail(f"{bootstrap} needs glibc 2.{newest}; Lambda's provided.al2023 has 2.{RUNTIME_GLIBC_MINOR}")


def code_zip(bootstrap, target):
    check_glibc(bootstrap)
    with zipfile.ZipFile(target, "w") as archive:
        add_file(archive, "bootstrap", bootstrap.read_bytes(), 0o755)


def packaged_template(arch, release):
    template = yaml_parse((ROOT / "template.yaml").read_text())
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for logical_id, name in FUNCTIONS.items():
        function = template["Resources"][logical_id]
        # No build step: the code is the zip beside the template.
        function.pop("Metadata", None)
        function["Properties"]["CodeUri"] = f"{name}.zip"
    architecture = template["Parameters"]["Architecture"]
    architecture["Default"] = arch
    architecture["AllowedValues"] = [arch]
    architecture["Description"] = f"This release's binaries are built for {arch}."
    listing = template["Metadata"]["AWS::ServerlessRepo::Application"]
    listing["SemanticVersion"] = release
    listing["SourceCodeUrl"] = re.sub(r"/tree/[^/]+$", f"/tree/v{release}", listing["SourceCodeUrl"])
    return yaml_dump(template)


def absolute_links(markdown, release):
    """The release's README also becomes the repository listing's page, where
    the book (docs/) and the examples are not beside it: relative links point
    at the tagged sources instead."""
    listing = yaml_parse((ROOT / "template.yaml").read_text())["Metadata"]["AWS::ServerlessRepo::Application"]
    base = f"{listing['HomePageUrl']}/blob/v{release}/"
    return re.sub(r"\]\((?!https?://|#|mailto:)([^)]+)\)", lambda m: f"]({base}{m.group(1)})", markdown)


def folder_zip(folder, target):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                mode = 0o755 if os.access(path, os.X_OK) else 0o644
                add_file(archive, f"{folder.name}/{path.relative_to(folder)}", path.read_bytes(), mode)


def record_sums(out, files):
    sums_path = out / "SHA256SUMS"
    sums = {}
    if sums_path.exists():
        for line in sums_path.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            sums[name] = digest
    for path in files:
        sums[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    sums_path.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", required=True, choices=["x86_64", "arm64"])
    parser.add_argument("--binaries", required=True, type=Path, help="cargo lambda's --lambda-dir")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    release = version()
    out = args.out.resolve()
    folder = out / f"akeneo-event-relay-{release}-{args.arch}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    for name in FUNCTIONS.values():
        bootstrap = args.binaries / name / "bootstrap"
        if not bootstrap.is_file():
            fail(f"{bootstrap} was not built")
        code_zip(bootstrap, folder / f"{name}.zip")
    (folder / "template.yaml").write_text(packaged_template(args.arch, release))
    for doc in DOCS:
        (folder / doc).write_text(absolute_links((ROOT / doc).read_text(), release))

    archive = out / f"{folder.name}.zip"
    folder_zip(folder, archive)
    record_sums(out, [archive])
    print(f"packaged {archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive}")


if __name__ == "__main__":
    main()
