"""Charts of the bilan report, drawn with matplotlib and returned as inline SVG markup.

Each function takes the figures ``report.build_bilan`` read from the warehouse and returns an
``<svg>`` element ready to sit in the HTML page: text drawn as paths (the page needs no font),
no XML prolog, no namespace or metadata URL, ids prefixed so that several charts share a page.
Figures are drawn on the Agg canvas through the object API (no pyplot, no GUI, no global
state). What stays out: reading the warehouse, computing figures, the rest of the page.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from crpv_pipeline.reference.parsing import french_number, pct

__all__ = ["MODALITY_COLOURS", "PILLAR_COLOURS", "themes_chart", "types_chart", "years_chart"]

# Okabe-Ito palette: told apart by colour-blind readers too.
MODALITY_COLOURS = {"PRESENTIEL": "#0072B2", "DISTANCIEL": "#E69F00", "HYBRIDE": "#009E73"}
PILLAR_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#999999")
"""Colours of the pillars of the contrats de ville, by ``dim_theme.pillar_order``."""
HIGHLIGHT, MUTED, INK, GRID = "#1F4E79", "#9DB9D5", "#222222", "#DDDDDD"
WIDTH_IN = 9.0
_STYLE = {
    "font.size": 10,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "svg.fonttype": "path",
    "svg.hashsalt": "crpv-bilan",
}


def signed(number: float | None, decimals: int = 0) -> str:
    """A change with its sign, French style: ``+923``, ``−750``, ``+42,0`` (U+2212 minus)."""
    if number is None or pd.isna(number):
        return "–"
    value = round(float(number), decimals)
    text = french_number(abs(value), decimals) if decimals else french_number(int(abs(value)))
    return ("+" if value > 0 else "\u2212" if value < 0 else "") + text


def signed_pct(number: float | None) -> str:
    """A change in percent with its sign: ``+42,0 %``."""
    if number is None or pd.isna(number):
        return "–"
    return f"{signed(number, 1)}\u00a0%"


def _thousands(value: float, _position: int) -> str:
    return french_number(int(round(value)))


def _svg(name: str, label: str, draw: Callable[[Figure], None], height_in: float) -> str:
    """Draw with ``draw`` on a new figure and return it as an inline ``<svg>`` element."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
        FigureCanvasAgg(figure)
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    head, body = text[text.index("<svg") :].split(">", 1)
    # Inline SVG in HTML needs no namespace; the page's CSS sizes it from its viewBox.
    text = re.sub(r'\s(?:xmlns(?::xlink)?|width|height)="[^"]*"', "", head) + ">" + body
    text = re.sub(r'\bid="', f'id="{name}-', text)
    text = re.sub(r'href="#', f'href="#{name}-', text)
    text = text.replace("url(#", f"url(#{name}-")
    aria = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg", f'<svg class="chart" role="img" aria-label="{aria}"', 1).strip()


def _clean_axes(ax, grid_axis: str) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def years_chart(years: pd.DataFrame, year: int) -> str:
    """Half-days per year, every year of the warehouse; ``year`` highlighted, change below."""

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        xs = list(range(len(years)))
        values = [int(v) for v in years["half_days"]]
        colours = [HIGHLIGHT if int(y) == year else MUTED for y in years["year"]]
        bars = ax.bar(xs, values, color=colours, width=0.6)
        ax.bar_label(
            bars, labels=[french_number(v) for v in values], padding=3, fontsize=10, color=INK
        )
        ticks = [
            f"{int(y)}" if pd.isna(change) else f"{int(y)}\n{signed_pct(change)}"
            for y, change in zip(years["year"], years["half_days_change_pct"], strict=True)
        ]
        ax.set_xticks(xs, ticks)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_ylim(0, max(values + [1]) * 1.15)
        ax.set_ylabel("Demi-journées")
        _clean_axes(ax, "y")

    label = "Demi-journées par année : " + ", ".join(
        f"{int(y)} : {french_number(int(v))}"
        for y, v in zip(years["year"], years["half_days"], strict=True)
    )
    return _svg("years", label, draw, 3.2)


def types_chart(by_type: pd.DataFrame, modalities: Sequence[tuple[str, str]]) -> str | None:
    """Half-days per activity type, stacked by modality, with the share held remotely.

    ``by_type`` has one row per type (``label`` and one column of half-days per modality
    code, ``remote_pct``); ``modalities`` lists (code, label) in display order.
    """
    if by_type.empty:
        return None
    rows = by_type.iloc[::-1].reset_index(drop=True)  # first type at the top

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        totals = sum(rows[code] for code, _ in modalities)
        left = pd.Series(0, index=rows.index)
        for code, label in modalities:
            values = rows[code]
            bars = ax.barh(
                rows.index,
                values,
                left=left,
                color=MODALITY_COLOURS.get(code, MUTED),
                label=label,
                height=0.62,
            )
            shown = [french_number(int(v)) if v >= 0.07 * totals.max() else "" for v in values]
            ax.bar_label(bars, labels=shown, label_type="center", color="white", fontsize=9)
            left = left + values
        for i, (total, remote) in enumerate(zip(totals, rows["remote_pct"], strict=True)):
            ax.text(
                total + totals.max() * 0.01,
                i,
                f"{french_number(int(total))} · {pct(remote)} à distance",
                va="center",
                fontsize=9,
                color=INK,
            )
        ax.set_yticks(rows.index, [_wrap(t, 28) for t in rows["label"]])
        ax.set_xlim(0, totals.max() * 1.32)
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_xlabel("Demi-journées")
        ax.legend(
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncols=len(modalities),
            frameon=False,
        )
        _clean_axes(ax, "x")

    label = "Demi-journées par type d'activité et modalité, part à distance : " + ", ".join(
        f"{t} {pct(r)}" for t, r in zip(by_type["label"], by_type["remote_pct"], strict=True)
    )
    return _svg("types", label, draw, 0.55 * len(rows) + 1.3)


def themes_chart(themes: pd.DataFrame) -> str | None:
    """Theme shares of half-days, largest first, coloured by pillar, percentage on each bar.

    ``themes`` has one row per theme, sorted: ``label``, ``pillar``, ``pillar_order``,
    ``share_half_days_pct``.
    """
    if themes.empty or themes["share_half_days_pct"].isna().all():
        return None
    rows = themes.iloc[::-1].reset_index(drop=True)  # largest at the top
    shares = rows["share_half_days_pct"].astype(float).fillna(0.0)
    pillars = themes[["pillar", "pillar_order"]].drop_duplicates().sort_values("pillar_order")
    colour = {
        p: PILLAR_COLOURS[(int(o) - 1) % len(PILLAR_COLOURS)]
        for p, o in zip(pillars["pillar"], pillars["pillar_order"], strict=True)
    }

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        bars = ax.barh(rows.index, shares, color=[colour[p] for p in rows["pillar"]], height=0.66)
        ax.bar_label(bars, labels=[pct(v) for v in shares], padding=3, fontsize=9, color=INK)
        ax.set_yticks(rows.index, [_wrap(t, 42) for t in rows["label"]], fontsize=9)
        ax.set_xlim(0, max(shares.max(), 1.0) * 1.15)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{french_number(v, 0)}\u00a0%"))
        ax.set_xlabel("Part des demi-journées de l'année")
        handles = [Patch(color=colour[p], label=p) for p in pillars["pillar"]]
        ax.legend(
            handles=handles,
            loc="lower right",
            frameon=True,
            framealpha=0.95,
            edgecolor=GRID,
            fontsize=9,
            title="Pilier des contrats de ville",
            title_fontsize=9,
        )
        _clean_axes(ax, "x")

    label = "Part des demi-journées par thématique : " + ", ".join(
        f"{t} {pct(s)}" for t, s in zip(themes["label"], themes["share_half_days_pct"], strict=True)
    )
    return _svg("themes", label, draw, 0.36 * len(rows) + 1.1)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)
