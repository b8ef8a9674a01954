#!/usr/bin/python3
"""`meson install --destdir` into a temporary folder puts every file where GNOME
looks for it, and what the files name each other by matches.

Usage: check-install.py MESON BUILD_DIR PREFIX BINDIR DATADIR LOCALEDIR LINGUAS
"""
import configparser
import pathlib
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

APP_ID = "org.pulmo.Pulmo"


def main():
    meson, build, prefix, bindir, datadir, localedir, linguas = sys.argv[1:]
    languages = [line.split("#")[0].strip() for line in pathlib.Path(linguas).read_text().splitlines()]
    with tempfile.TemporaryDirectory(prefix="pulmo-install-") as destdir:
        subprocess.run([meson, "install", "-C", build, "--destdir", destdir, "--no-rebuild", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        root = pathlib.Path(destdir + prefix)
        data = root / datadir
        expected = [
            root / bindir / "pulmo",
            data / "applications" / f"{APP_ID}.desktop",
            data / "metainfo" / f"{APP_ID}.metainfo.xml",
            data / "glib-2.0" / "schemas" / f"{APP_ID}.gschema.xml",
            data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
            data / "icons" / "hicolor" / "symbolic" / "apps" / f"{APP_ID}-symbolic.svg",
            data / "mime" / "packages" / f"{APP_ID}.mime.xml",
            data / "pulmo" / "models" / "pulmo-lung-lesion.pulmonet",
            data / "pulmo" / "samples" / "P001-256.nii.gz",
        ] + [root / localedir / lang / "LC_MESSAGES" / "pulmo.mo" for lang in languages if lang]
        missing = [str(path.relative_to(root)) for path in expected if not path.is_file()]
        if missing:
            sys.exit("not installed: " + ", ".join(missing))

        # The desktop entry names the installed icon and the MIME type installed.
        entry = configparser.ConfigParser(interpolation=None)
        entry.read(data / "applications" / f"{APP_ID}.desktop")
        desktop = entry["Desktop Entry"]
        assert desktop["Icon"] == APP_ID, desktop["Icon"]
        assert desktop["Exec"].split()[0] == "pulmo", desktop["Exec"]
        mime = ET.parse(data / "mime" / "packages" / f"{APP_ID}.mime.xml").getroot()
        ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
        types = {t.get("type") for t in mime.iter(ns + "mime-type")}
        assert types <= set(desktop["MimeType"].split(";")), (types, desktop["MimeType"])

        # The metainfo launches that desktop entry and provides that binary.
        component = ET.parse(data / "metainfo" / f"{APP_ID}.metainfo.xml").getroot()
        assert component.findtext("id") == APP_ID
        assert component.findtext("launchable") == f"{APP_ID}.desktop"
        assert component.findtext("provides/binary") == "pulmo"

        # The installed schema compiles, and the MIME database takes the type
        # and tells a NIfTI-1 file by its magic.
        schemas = data / "glib-2.0" / "schemas"
        subprocess.run(["glib-compile-schemas", "--strict", "--targetdir", destdir, schemas], check=True)
        mime_dir = pathlib.Path(destdir) / "mime"
        shutil.copytree(data / "mime", mime_dir)
        subprocess.run(["update-mime-database", mime_dir], check=True, stdout=subprocess.DEVNULL)
        magic = (mime_dir / "magic").read_bytes()
        assert b"n+1\0" in magic and b"n+2\0" in magic, magic
    print(f"installed {len(expected)} files where expected")


main()
