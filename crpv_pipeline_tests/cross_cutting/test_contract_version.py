"""The code's contract version is the one the page of contract additions says it implements."""

from pathlib import Path

from crpv_pipeline import CONTRACT_VERSION

ROOT = Path(__file__).resolve().parents[2]


def test_the_additions_page_names_the_code_contract_version():
    title = (ROOT / "docs" / "contract_additions.md").read_text(encoding="utf-8").splitlines()[0]
    assert title == f"# Additions to contract v1 (this code implements v{CONTRACT_VERSION})"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'`CONTRACT_VERSION = "{CONTRACT_VERSION}"`' in readme
