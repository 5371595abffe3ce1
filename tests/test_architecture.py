"""Architecture rules: layer contracts (import-linter) and the regex rules of STYLE.md §13."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "shuyuan"


def _python_files(pattern: str = "*.py") -> list[Path]:
    return [p for p in SOURCE.rglob(pattern) if "migrations" not in p.parts]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603  # our own tool, fixed arguments
        [str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_naive_datetime_now():
    offenders = [
        str(p) for p in _python_files() if re.search(r"datetime\.now\(\)|\.utcnow\(", p.read_text())
    ]
    assert not offenders


def test_no_print_in_application_code():
    offenders = [
        str(p)
        for p in _python_files()
        if "tests" not in p.parts and re.search(r"^\s*print\(", p.read_text(), re.MULTILINE)
    ]
    assert not offenders


SCOPED = r"\b(Org|User|RoleAssignment|ChangeRecord|AuditEvent)\.objects\.(get|filter|all)\("


def test_views_and_api_read_scoped_models_only_through_queries():
    offenders = []
    for path in _python_files():
        if path.name in {"api.py"} or "views" in path.parts or path.name == "views.py":
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(SCOPED, line):
                    offenders.append(f"{path}:{n}: {line.strip()}")
    assert not offenders


def test_templates_have_no_inline_handlers_styles_or_safe():
    offenders = []
    for path in SOURCE.rglob("*.html"):
        text = path.read_text()
        for rule in (r"\son[a-z]+\s*=", r"\sstyle\s*=", r"\|\s*safe\b", r"<script(?![^>]*\ssrc=)"):
            if re.search(rule, text):
                offenders.append(f"{path}: {rule}")
    assert not offenders


def test_noqa_and_type_ignore_carry_a_reason():
    offenders = []
    for path in _python_files():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            match = re.search(r"#\s*(noqa|type:\s*ignore)\b[^#]*$", line)
            if match:
                offenders.append(f"{path}:{n}")
    assert not offenders


def _string_literals(path: Path) -> list[tuple[int, str]]:
    """String constants in a module, docstrings excluded (prose there may be Chinese)."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


HAN = re.compile(r"[\u4e00-\u9fff]")


def test_no_chinese_literals_in_python_code():
    offenders = [
        f"{path}:{line}"
        for path in _python_files()
        if "tests" not in path.parts
        for line, value in _string_literals(path)
        if HAN.search(value)
    ]
    assert not offenders, offenders[:20]


def test_no_chinese_literals_in_templates():
    offenders = []
    for path in SOURCE.rglob("*.html"):
        text = re.sub(
            r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", "", path.read_text(), flags=re.DOTALL
        )
        if HAN.search(text):
            offenders.append(str(path))
    assert not offenders
