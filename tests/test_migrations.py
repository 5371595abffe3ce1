"""Migrations: named, complete, and reversible to zero."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_no_auto_named_migrations():
    assert not list(ROOT.glob("shuyuan/*/migrations/*_auto_*.py"))


def test_models_and_migrations_agree(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_and_reapply():
    call_command("migrate", "identity", "zero", verbosity=0)
    call_command("migrate", "core", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
