"""Configuration: production passes ``check --deploy`` cleanly and refuses to start half-set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "SHUYUAN_ENV": "production",
    "SHUYUAN_SECRET_KEY": "x7Kq9-production-test-key-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7",
    "SHUYUAN_DATABASE_URL": "sqlite:///:memory:",
    "SHUYUAN_ALLOWED_HOSTS": "edu.example.cn",
    "SHUYUAN_PII_KEYS": "1:00112233445566778899aabbccddeeff",
    "SHUYUAN_BLIND_INDEX_KEY": "ab" * 32,
    "SHUYUAN_RESOURCES_CERT_SIGNING_KEY": "39" * 32,
    "DJANGO_SETTINGS_MODULE": "shuyuan.settings.base",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHUYUAN_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    clean.update(env)
    return subprocess.run(  # noqa: S603  # fixed argv, our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_production_check_deploy_has_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SHUYUAN_SECRET_KEY",
        "SHUYUAN_DATABASE_URL",
        "SHUYUAN_PII_KEYS",
        "SHUYUAN_BLIND_INDEX_KEY",
        "SHUYUAN_RESOURCES_CERT_SIGNING_KEY",
    ],
)
def test_production_without_required_variable_refuses_to_start(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_development_is_not_the_default():
    env = {k: v for k, v in PRODUCTION.items() if k != "SHUYUAN_ENV"}
    result = _manage("diffsettings", "--all", env=env)
    assert "DEBUG = False" in result.stdout
