"""Compile every locale/*/LC_MESSAGES/*.po into its .mo with polib (no GNU gettext needed).

Fuzzy entries are left out, as msgfmt does; obsolete entries are never written.
Usage: python scripts/compile_messages.py [locale_dir ...]  (default: locale/ at the repo root)
"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def compile_catalog(po_path: Path) -> Path:
    """Write the .mo beside `po_path` and return its path."""
    catalog = polib.pofile(str(po_path), wrapwidth=0)
    for entry in [e for e in catalog if e.fuzzy]:
        catalog.remove(entry)
    mo_path = po_path.with_suffix(".mo")
    catalog.save_as_mofile(str(mo_path))
    return mo_path


def main(argv: list[str]) -> int:
    locale_dirs = [Path(arg) for arg in argv] or [ROOT / "locale"]
    for locale_dir in locale_dirs:
        for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
            mo_path = compile_catalog(po_path)
            shown = mo_path.relative_to(ROOT) if mo_path.is_relative_to(ROOT) else mo_path
            print(f"compiled {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
