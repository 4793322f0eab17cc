"""The national summary printed by ``crpv run`` and ``crpv demo``, in French.

It reads the derived tables of one year and formats them the way the bilan does
(``3 123 demi-journées``, ``14,8 %``); it computes nothing the warehouse has not derived. A total
built from an optional column says how many centres it covers (``coverage``).
"""

from __future__ import annotations

from crpv_pipeline.outputs.report.coverage import participants_text
from crpv_pipeline.reference.parsing import french_count, pct
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table

TOP_THEMES = 3


def national_summary(warehouse_url: str, year: int) -> str:
    """The year's headline figures and its largest themes, as French text."""
    engine = create_warehouse_engine(warehouse_url)
    try:
        summary = read_table(engine, "yearly_summary", year)
        themes = read_table(engine, "theme_shares", year)
        labels = read_table(engine, "dim_theme")
    finally:
        engine.dispose()
    if summary.empty:
        return f"Bilan national {year} : aucune donnée dans l'entrepôt."
    row = summary.iloc[0]
    label_of = dict(zip(labels["theme_code"], labels["label"], strict=True))
    top = themes.sort_values(["share_half_days_pct", "theme_code"], ascending=[False, True])
    top_text = " · ".join(
        f"{label_of[t.theme_code]} {pct(t.share_half_days_pct)}"
        for t in top.head(TOP_THEMES).itertuples()
        if t.half_days
    )
    participants = participants_text(
        row.participants, row.centres_with_participants, row.centres_reporting
    )
    return "\n".join(
        [
            f"Bilan national {year} — {french_count(int(row.centres_reporting), 'centre')} sur "
            f"{int(row.centres_expected)} "
            f"{'ont' if row.centres_reporting > 1 else 'a'} transmis un bilan exploitable",
            f"  {french_count(int(row.half_days), 'demi-journée', 'demi-journées')} · "
            f"{french_count(int(row.n_activities), 'activité')} · "
            f"{participants} · "
            f"{pct(row.share_distanciel_pct)} des demi-journées à distance",
            f"  Thématiques principales : {top_text or '–'}",
        ]
    )
