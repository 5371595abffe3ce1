"""The ``shuyuan`` command line.

``shuyuan run`` is the embedded one-command set-up: development mode on SQLite, migrate, load the
demo region, print the URL and demo logins, serve. Everything else is a Django management command
(``shuyuan migrate``, ``shuyuan load_demo``, ``shuyuan verify_changelog``, ``shuyuan worker``...).
"""

from __future__ import annotations

import argparse
import os
import sys

ALIASES = {
    "worker": "db_worker",
    "demo": "load_demo",
    "serve": "runserver",
    "import": "import_roster",
}


def _run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="shuyuan run", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--no-demo", action="store_true", help="Do not load the demo region.")
    args = parser.parse_args(argv)
    os.environ.setdefault("SHUYUAN_ENV", "development")
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=1)
    if not args.no_demo:
        call_command("load_demo")
        call_command("load_resource_demo")
        call_command("load_learning_demo")
        call_command("load_exam_demo")
    url = f"http://{args.host}:{args.port}/"
    sys.stdout.write(f"\nShuyuan is running at {url}  (API docs: {url}api/v1/docs)\n\n")
    sys.stdout.flush()
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings.base")
    if argv and argv[0] == "run":
        _run(argv[1:])
        return
    if argv:
        argv[0] = ALIASES.get(argv[0], argv[0])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shuyuan", *argv])


if __name__ == "__main__":
    main()
