"""The Markdown page of the data dictionary, ``docs/data_dictionary.md``, from ``dictionary``.

Belongs here: rendering the tables and BI views parsed by ``dictionary`` (their descriptions
are the comments of ``sql/schema`` and ``sql/bi``) as the page for analysts and BI tools, and
the command that writes it. Stays out: parsing (``dictionary``), the database.

Regenerate the page with ``python -m crpv_pipeline.warehouse.dictionary_page`` (from the
repository root); a test fails while it is stale.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from crpv_pipeline.atomic import write_text
from crpv_pipeline.warehouse.dictionary import (
    BI_SCHEMA,
    BI_SQLITE_PREFIX,
    TableDoc,
    ViewDoc,
    bi_view_name,
    data_dictionary,
    view_docs,
)

DEFAULT_MARKDOWN_PATH = Path("docs") / "data_dictionary.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    tables: Sequence[TableDoc] | None = None, views: Sequence[ViewDoc] | None = None
) -> str:
    """The data dictionary as Markdown (the content of ``docs/data_dictionary.md``)."""
    tables = tables if tables is not None else data_dictionary()
    views = views if views is not None else view_docs()
    out = [
        "# Data dictionary of the CRPV warehouse",
        "",
        "<!-- Generated from the comments of sql/schema/*.sql and sql/bi/*.sql by"
        " `python -m crpv_pipeline.warehouse.dictionary_page`; do not edit by hand. -->",
        "",
        "Tables BI tools read (contract §5). Identifiers are English, people-facing labels"
        " French; percentages are unrounded, from 0 to 100. On PostgreSQL the same descriptions"
        " are stored as table and column comments.",
        "",
        "| table | description |",
        "|---|---|",
    ]
    out += [f"| [`{t.name}`](#{t.name}) | {_cell(t.description)} |" for t in tables]
    out += [
        "",
        "Views for BI tools: one per subject, French labels joined in, nothing aggregated (BI"
        f" tools aggregate). On PostgreSQL they live in the schema `{BI_SCHEMA}`, on SQLite"
        f" their name starts with `{BI_SQLITE_PREFIX}`. Their descriptions are comments on"
        " PostgreSQL too.",
        "",
        "| view (PostgreSQL) | view (SQLite) | description |",
        "|---|---|---|",
    ]
    out += [
        f"| [`{bi_view_name(v.name, 'postgresql')}`](#{BI_SCHEMA}{v.name}) | "
        f"`{bi_view_name(v.name, 'sqlite')}` | {_cell(v.description)} |"
        for v in views
    ]
    for table in tables:
        out += [
            "",
            f"## {table.name}",
            "",
            _cell(table.description),
            "",
            f"Primary key: {', '.join(f'`{c}`' for c in table.primary_key)}.",
            "",
            "| column | type | null | description |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{c.name}` | {c.sql_type} | {'yes' if c.nullable else 'no'} | "
            f"{_cell(c.description)} |"
            for c in table.columns
        ]
    for view in views:
        out += [
            "",
            f"## {bi_view_name(view.name, 'postgresql')}",
            "",
            f"{_cell(view.description)} On SQLite: `{bi_view_name(view.name, 'sqlite')}`.",
            "",
            "| column | from | description |",
            "|---|---|---|",
        ]
        out += [
            f"| `{c.name}` | `{_cell(c.source)}` | {_cell(c.description)} |" for c in view.columns
        ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the Markdown data dictionary (``docs/data_dictionary.md`` by default)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_MARKDOWN_PATH)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.output, render_markdown())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
