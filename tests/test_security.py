"""SQL is built only with bound parameters, psycopg's sql composition, or inside dbt: a scan of
every `execute` call in Plaudit's code fails on SQL text made with f-strings, `%` or `.format`
(where a user's value could end up in the statement). Ruff's S608 rule looks for the same."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["plaudit", "flows", "expectations"]


def _string_built(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
            and isinstance(node.func.value, ast.Constant):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _string_built(node.left) or _string_built(node.right)
    return False


def string_built_sql(source: str) -> list[int]:
    """Lines where execute/executemany/copy gets SQL text built from values."""
    return [
        node.lineno for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany", "copy") and node.args and _string_built(node.args[0])
    ]


def test_the_scan_catches_string_built_sql():
    bad = (
        'conn.execute(f"select * from raw.employees where employee_id = \'{who}\'")\n'
        'conn.execute("select * from t where a = \'%s\'" % who)\n'
        'conn.execute("select * from t where a = {}".format(who))\n'
        'conn.execute(BASE + f" where a = {who}")\n'
    )
    assert string_built_sql(bad) == [1, 2, 3, 4]
    good = 'conn.execute("select * from t where a = %s", [who])\nconn.execute(sql.SQL("x {}").format(ident))\n'
    assert string_built_sql(good) == []


def test_no_sql_in_plaudit_is_built_from_strings():
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for pkg in PACKAGES for path in (ROOT / pkg).rglob("*.py")
        for line in string_built_sql(path.read_text())
    }
    assert found == set()


def test_ruff_s608_finds_no_sql_built_from_strings():
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "S608", "--no-cache", *PACKAGES],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
