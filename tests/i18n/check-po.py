#!/usr/bin/env python3
"""Each translation in po/LINGUAS is complete (msgfmt --check: no untranslated
or fuzzy message, formats matching) and up to date: every message xgettext
finds in po/POTFILES.in now is in the .po file (msgcmp)."""
import os
import re
import subprocess
import sys
import tempfile

source_root = sys.argv[1]
po_dir = os.path.join(source_root, 'po')
with open(os.path.join(po_dir, 'LINGUAS')) as f:
    languages = [line.strip() for line in f if line.strip() and not line.startswith('#')]
with open(os.path.join(po_dir, 'POTFILES.in')) as f:
    sources = [line.strip() for line in f if line.strip() and not line.startswith('#')]

failed = False
with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, 'pulmo.pot')
    # The keywords of meson's glib preset (po/meson.build).
    subprocess.run(['xgettext', '--from-code=UTF-8', '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2',
                    '--keyword=NC_:1c,2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
                    '--directory', source_root, '--output', pot] + sources, check=True)
    for language in languages:
        po = os.path.join(po_dir, language + '.po')
        check = subprocess.run(['msgfmt', '--check', '--statistics', '--output-file', os.devnull, po],
                               capture_output=True, text=True)
        statistics = check.stderr.strip()
        print(f'{language}: {statistics}')
        if check.returncode != 0 or re.search(r'fuzzy|untranslated', statistics):
            print(f'{language}.po is not complete: translate its untranslated and fuzzy messages', file=sys.stderr)
            failed = True
        compare = subprocess.run(['msgcmp', '--use-untranslated', '--use-fuzzy', po, pot],
                                 capture_output=True, text=True)
        if compare.returncode != 0:
            print(compare.stderr, file=sys.stderr)
            print(f'{language}.po lacks messages of the sources: run `meson compile -C build pulmo-update-po` '
                  'and translate them', file=sys.stderr)
            failed = True
sys.exit(1 if failed else 0)
