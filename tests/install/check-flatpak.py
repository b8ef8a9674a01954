#!/usr/bin/python3
"""What can be checked of the Flatpak manifest without downloading a runtime:
valid JSON, the same application id as the desktop entry, the metainfo and the
settings schema, sources that exist, the narrow sandbox, and Pulmo's meson
options accepted by `meson setup` as flatpak-builder calls it.

Usage: check-flatpak.py MESON SOURCE_DIR MANIFEST
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def main():
    meson, source, manifest_path = sys.argv[1:]
    source, manifest_path = pathlib.Path(source), pathlib.Path(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    app_id = manifest["id"]

    data = source / "data"
    assert (data / f"{app_id}.desktop.in").is_file(), "no desktop entry named for " + app_id
    metainfo = ET.parse(data / f"{app_id}.metainfo.xml.in").getroot()
    assert metainfo.findtext("id") == app_id, metainfo.findtext("id")
    schema = ET.parse(data / f"{app_id}.gschema.xml").getroot().find("schema")
    assert schema.get("id") == app_id, schema.get("id")
    assert manifest["command"] == "pulmo"

    # Files come through the portals (GtkFileChooserNative, drag and drop):
    # no file system access, no network.
    args = manifest["finish-args"]
    assert not [a for a in args if a.startswith(("--filesystem", "--share=network"))], args
    assert {"--share=ipc", "--socket=wayland", "--socket=fallback-x11", "--device=dri"} <= set(args), args

    modules = {module["name"]: module for module in manifest["modules"]}
    for module in modules.values():
        for src in module.get("sources", []):
            if src["type"] in ("dir", "file"):
                path = manifest_path.parent / src["path"]
                assert path.exists(), f"{module['name']}: {path} does not exist"
            elif src["type"] == "git":
                assert src.get("tag") or src.get("commit"), f"{module['name']}: a git source not pinned"

    # flatpak-builder configures with --prefix=/app --libdir=lib before the module's own options.
    pulmo = modules["pulmo"]
    assert pulmo["buildsystem"] == "meson"
    with tempfile.TemporaryDirectory(prefix="pulmo-flatpak-") as build:
        result = subprocess.run([meson, "setup", build, source, "--prefix=/app", "--libdir=lib"]
                                + pulmo.get("config-opts", []), capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit("meson setup refused the pulmo module's options:\n" + result.stdout + result.stderr)
    print(f"{app_id}: {len(modules)} modules, finish-args {' '.join(args)}")


main()
