"""The atomic writer, and a check of the source that every output goes through it."""

import ast
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crpv_pipeline import atomic
from crpv_pipeline.atomic import (
    TEMP_SUFFIX,
    atomic_output,
    move_aside,
    remove_leftovers,
    write_bytes,
    write_text,
)

PACKAGE = Path(atomic.__file__).parent
ALLOWED = {
    ("atomic.py", "temp"): "the writer itself",
    ("atomic.py", "final"): "the writer itself: the rename into place",
    ("atomic.py", "aside"): "move_aside: a new name beside the file, never an existing one",
    ("locks.py", "path"): "the year lock file: opened to be locked, never written",
    ("workbook_cells.py", "path"): "new_workbook: its callers are checked like any writer's",
}
"""(module, target) pairs allowed to be opened for writing outside ``atomic_output``, and why."""


def test_a_file_moved_aside_keeps_its_bytes_and_never_replaces_another(tmp_path):
    filled = tmp_path / "suivi.xlsx"
    filled.write_text("rempli", encoding="utf-8")
    (tmp_path / "suivi (copie).xlsx").write_text("déjà là", encoding="utf-8")
    inode = filled.stat().st_ino
    aside = move_aside(filled, "suivi (copie)")
    assert aside == tmp_path / "suivi (copie) (2).xlsx" and not filled.exists()
    assert aside.read_text(encoding="utf-8") == "rempli" and aside.stat().st_ino == inode
    assert (tmp_path / "suivi (copie).xlsx").read_text(encoding="utf-8") == "déjà là"


def test_a_complete_write_replaces_the_file(tmp_path):
    final = tmp_path / "new folder" / "bilan.html"
    with atomic_output(final) as temp:
        assert temp.parent == final.parent and temp.name.startswith(".bilan.html.")
        temp.write_text("nouveau", encoding="utf-8")
        assert not final.exists()  # nobody sees the file before it is whole
    assert final.read_text(encoding="utf-8") == "nouveau"
    assert os.listdir(final.parent) == ["bilan.html"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    final = write_text(tmp_path / "bilan.html", "ancien")
    with pytest.raises(RuntimeError), atomic_output(final) as temp:
        temp.write_text("à moit", encoding="utf-8")
        raise RuntimeError("disk full")
    with pytest.raises(FileNotFoundError), atomic_output(final):
        pass  # a writer that wrote nothing
    assert final.read_text(encoding="utf-8") == "ancien"
    assert os.listdir(tmp_path) == ["bilan.html"]


def test_the_same_bytes_leave_the_file_untouched(tmp_path, caplog):
    final = write_bytes(tmp_path / "bilan.xlsx", b"PK\x03\x04 classeur")
    os.utime(final, ns=(1_000_000_000, 1_000_000_000))  # an old file, as a first run left it
    before = final.stat()
    with caplog.at_level(logging.INFO, logger="crpv_pipeline.atomic"):
        assert write_bytes(final, b"PK\x03\x04 classeur") == final
    after = final.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.listdir(tmp_path) == ["bilan.xlsx"]  # no temporary file left
    assert caplog.messages == [f"{final}: unchanged, left as is"]


@pytest.mark.parametrize("new", [b"PK\x03\x04 classeuR", b"PK\x03\x04 classeur 2", b""])
def test_other_bytes_replace_the_file(tmp_path, new):
    final = write_bytes(tmp_path / "bilan.xlsx", b"PK\x03\x04 classeur")
    os.utime(final, ns=(1_000_000_000, 1_000_000_000))
    write_bytes(final, new)
    assert final.read_bytes() == new
    assert final.stat().st_mtime_ns != 1_000_000_000
    assert os.listdir(tmp_path) == ["bilan.xlsx"]


def test_a_folder_in_the_way_is_not_taken_for_the_same_bytes(tmp_path):
    (tmp_path / "bilan.html").mkdir()
    with pytest.raises(OSError):
        write_text(tmp_path / "bilan.html", "")
    assert os.listdir(tmp_path) == ["bilan.html"]


def test_a_very_long_name_still_gets_a_temporary_file(tmp_path):
    final = write_text(tmp_path / ("b" * 250 + ".html"), "ok")
    assert final.read_text(encoding="utf-8") == "ok"


def test_leftovers_of_dead_processes_are_removed_those_of_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    left = tmp_path / f".bilan.html.{dead}-0a1b2c3d{TEMP_SUFFIX}"
    live = tmp_path / f".suivi.xlsx.{os.getpid()}-0a1b2c3d{TEMP_SUFFIX}"
    other = tmp_path / ".notes.txt"
    for path in (left, live, other):
        path.write_text("x", encoding="utf-8")
    assert remove_leftovers(tmp_path) == [left]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def _with_targets(tree: ast.AST) -> dict[int, set[str]]:
    """id(node) → names bound by enclosing ``with atomic_output(...) as NAME`` blocks or to an
    in-memory buffer (``io.BytesIO()``) in the same function."""
    allowed: dict[int, set[str]] = {}

    def visit(node: ast.AST, names: frozenset[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            buffers = {
                t.id
                for n in ast.walk(node)
                if isinstance(n, ast.Assign) and _called(n.value) == "BytesIO"
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            names = names | buffers
        if isinstance(node, ast.With):
            for item in node.items:
                bound = item.optional_vars
                if _called(item.context_expr) == "atomic_output" and isinstance(bound, ast.Name):
                    names = names | {bound.id}
        allowed[id(node)] = set(names)
        for child in ast.iter_child_nodes(node):
            visit(child, names)

    visit(tree, frozenset())
    return allowed


def _called(node: ast.AST | None) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _mode(call: ast.Call, position: int) -> str:
    args = [
        *call.args[position : position + 1],
        *(k.value for k in call.keywords if k.arg == "mode"),
    ]
    return next((a.value for a in args if isinstance(a, ast.Constant)), "r")


def _target(call: ast.Call) -> ast.AST | None:
    """What a call writes to, if it writes a file: the path (or None when it does not write)."""
    name, func = _called(call), call.func
    receiver = func.value if isinstance(func, ast.Attribute) else None
    first = call.args[0] if call.args else None
    if name in ("write_text", "write_bytes", "touch", "symlink_to", "hardlink_to"):
        return receiver
    if name == "open" and receiver is not None:  # Path.open(mode)
        return receiver if set(_mode(call, 0)) & set("wax+") else None
    if name == "open":
        return first if set(_mode(call, 1)) & set("wax+") else None
    if name == "ZipFile":
        return first if set(_mode(call, 1)) & set("wax") else None
    if name in ("save", "Workbook", "new_workbook"):
        return first  # openpyxl and XlsxWriter workbooks, ours (workbook_cells.new_workbook)
    if name in ("to_csv", "to_excel", "to_json", "to_parquet", "to_html") and receiver:
        return first  # pandas frames
    module = receiver.id if isinstance(receiver, ast.Name) else None
    if module in ("os", "shutil", "json") and len(call.args) > 1:  # os.replace(src, dst)…
        return call.args[1] if name in _MOVES | {"dump"} else None
    if name in ("rename", "replace") and len(call.args) == 1 and not call.keywords:
        return call.args[0]  # Path.replace(target); str.replace takes two
    return None


_MOVES = {"copy", "copy2", "copyfile", "copytree", "move", "replace", "rename", "link", "symlink"}


def _plain(node: ast.AST) -> ast.AST:
    """``temp`` from ``str(temp)``."""
    if isinstance(node, ast.Call) and _called(node) == "str" and node.args:
        return node.args[0]
    return node


def writes_outside_the_atomic_writer() -> list[str]:
    found = []
    for module in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        allowed = _with_targets(tree)
        own_classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = _target(node)
            if target is None or _called(node) in own_classes:  # GuardedWorkbook is ours
                continue
            target = _plain(target)
            name = target.id if isinstance(target, ast.Name) else ast.unparse(target)
            if name in allowed[id(node)] or (module.name, name) in ALLOWED:
                continue
            if module.name in ("cli.py", "cli_validate.py") and name in ("out", "sys.stdout"):
                continue  # findings printed on standard output
            found.append(f"{module.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_every_output_file_goes_through_the_atomic_writer():
    assert writes_outside_the_atomic_writer() == []


def test_the_source_check_sees_a_direct_write(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text(
        "def f(wb, path, out):\n"
        "    wb.save(path)\n"
        "    path.write_text('x')\n"
        "    with open(out, 'w') as fh:\n"
        "        fh.write('x')\n"
        "    with atomic_output(path) as temp:\n"
        "        wb.save(temp)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert writes_outside_the_atomic_writer() == [
        "bad.py:2: wb.save(path)",
        "bad.py:3: path.write_text('x')",
        "bad.py:4: open(out, 'w')",
    ]
