"""The bilan as one self-contained HTML page, in French: figures, charts, tables, annex.

``render_html`` lays out a ``report.Bilan``: headline figures with their change, the charts of
``charts`` inline, the tables, and the data-quality annex. Every text that comes from
the data (names, file names, labels) is HTML-escaped; numbers are written the French way
(``3 123``, ``14,8 %``). The page loads nothing: no script, no font, no image from elsewhere
(its style sheet, ``bilan.css``, is inlined). The same ``Bilan`` gives the same page, byte for
byte: the date it shows is the warehouse's (``Bilan.as_of``), never the time of writing.
What stays out: reading the warehouse and drawing charts.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from html import escape
from importlib import resources
from typing import Any

import pandas as pd

from crpv_pipeline.outputs.report.bilan import Bilan
from crpv_pipeline.outputs.report.charts import (
    signed,
    signed_pct,
    themes_chart,
    types_chart,
    years_chart,
)
from crpv_pipeline.outputs.report.coverage import (
    NOT_GIVEN,
    NOT_GIVEN_TEXT,
    centres_coverage,
    compared_centres,
    is_missing,
)
from crpv_pipeline.outputs.report.tables import ReportTable
from crpv_pipeline.reference.deadlines import deadline_fr, paris_time
from crpv_pipeline.reference.parsing import french_count, french_number, pct
from crpv_pipeline.reference.statuses import STATUS_LABELS

__all__ = ["format_cell", "render_html"]

_NUMERIC = {"int", "pct", "signed_int", "signed_pct"}
_STATUS_CODES = {label: code for code, label in STATUS_LABELS.items()}


@cache
def _css() -> str:
    """The page's style sheet (``bilan.css``, beside this module): inline, nothing to load."""
    return resources.files(__package__).joinpath("bilan.css").read_text(encoding="utf-8")


def format_cell(value: Any, kind: str) -> str:
    """A value as a French reader reads it (plain text, not yet escaped); ``–`` when missing.

    A figure nobody gave (``NOT_GIVEN``) reads « non renseigné », never 0.
    """
    if value is NOT_GIVEN:
        return NOT_GIVEN_TEXT
    if value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value))):
        return "–"
    if kind == "int":
        return french_number(int(value))
    if kind == "pct":
        return pct(value)
    if kind == "signed_int":
        return signed(value)
    if kind == "signed_pct":
        return signed_pct(value)
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        return stamp.strftime("%d/%m/%Y %H:%M") if isinstance(stamp, pd.Timestamp) else str(value)
    return str(value)


def _table(table: ReportTable, caption: str | None = None) -> str:
    table = _for_readers(table)
    head = "".join(
        f'<th{" class=num" if c.kind in _NUMERIC else ""} scope="col">{escape(c.header)}</th>'
        for c in table.columns
    )
    body = [_row(table, i, row) for i, row in enumerate(table.rows)]
    if table.total is not None:
        body.append(_row(table, len(table.rows), table.total, "total"))
    if not body:
        body = [f'<tr><td colspan="{len(table.columns)}">Aucune ligne.</td></tr>']
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="wide"><table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody></table></div>"
    )


def _for_readers(table: ReportTable) -> ReportTable:
    """The table without its ``code`` columns, as the page shows it.

    Identifiers are for the workbook's analysts (to join with the warehouse); the page's
    readers read the labels beside them.
    """
    keep = [i for i, c in enumerate(table.columns) if c.kind != "code"]
    if len(keep) == len(table.columns):
        return table

    def kept(row: tuple) -> tuple:
        return tuple(row[i] for i in keep)

    return replace(
        table,
        columns=tuple(table.columns[i] for i in keep),
        rows=tuple(kept(r) for r in table.rows),
        total=None if table.total is None else kept(table.total),
    )


def _row(table: ReportTable, index: int, row: tuple, css: str = "") -> str:
    cells = []
    for column, (spec, value) in enumerate(zip(table.columns, row, strict=True)):
        kind = table.kind(index, column)
        classes = []
        if kind in _NUMERIC:
            classes.append("num")
        if kind in ("code", "hash", "datetime"):
            classes.append(kind)
        if spec.header == "Statut" and value in _STATUS_CODES:
            classes.append(f"status-{_STATUS_CODES[value]}")
        if spec.header == "Motif":  # a sentence: room to read it beside the hashes
            classes.append("reason")
        attr = f' class="{" ".join(classes)}"' if classes else ""
        text = escape(format_cell(value, kind))
        if kind == "hash":  # two lines of 32 hex digits at most; copies as one word
            text = "<wbr>".join(text[i : i + 32] for i in range(0, len(text), 32))
        cells.append(f"<td{attr}>{text}</td>")
    return f"<tr{f' class={css}' if css else ''}>" + "".join(cells) + "</tr>"


def _card(label: str, value: str, change: str = "") -> str:
    extra = f'<div class="change">{escape(change)}</div>' if change else ""
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div>{extra}</div>'
    )


def _headline(bilan: Bilan) -> str:
    s, prev, trend, before = bilan.summary, bilan.previous, bilan.trend, bilan.year - 1

    def change(measure: str, participants: bool = False) -> str:
        if not trend or prev is None:
            return f"pas de données pour {before}"
        field = "participants_centres_compared" if participants else "centres_compared"
        compared = compared_centres(trend.get(field), participants=participants)
        if trend.get(f"{measure}_change") is None:
            return compared or f"pas de données pour {before}"
        delta = trend[f"{measure}_change"]
        text = (
            f"{signed(delta)} ({signed_pct(trend[f'{measure}_change_pct'])}) par rapport à {before}"
        )
        return f"{text}, {compared}" if compared else text

    remote_before = f"{pct(prev['share_distanciel_pct'])} en {before}" if prev else ""
    centres_before = f"{french_number(int(prev['centres_reporting']))} en {before}" if prev else ""
    if is_missing(s["participants"]):
        participants = _card("Participants", NOT_GIVEN_TEXT, "aucun centre ne l'a renseigné")
    else:
        known = s.get("centres_with_participants")
        coverage = (
            ""
            if is_missing(known)
            else f"renseignés par {centres_coverage(known, s['centres_reporting'])} ; "
        )
        participants = _card(
            "Participants",
            french_number(int(s["participants"])),
            coverage + change("participants", participants=True),
        )
    return (
        '<div class="cards">'
        + "".join(
            [
                _card("Demi-journées", french_number(int(s["half_days"])), change("half_days")),
                _card("Activités", french_number(int(s["n_activities"])), change("n_activities")),
                participants,
                _card(
                    "Centres ayant transmis un bilan exploitable",
                    f"{int(s['centres_reporting'])} / {int(s['centres_expected'])}",
                    centres_before,
                ),
                _card("Demi-journées à distance", pct(s["share_distanciel_pct"]), remote_before),
            ]
        )
        + "</div>"
    )


def _figure(svg: str | None, caption: str) -> str:
    if svg is None:
        return '<p class="note">Aucune activité chargée pour cette année.</p>'
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _completeness_text(bilan: Bilan) -> str:
    s = bilan.summary
    parts = [
        f"{int(s['centres_expected'])} centres attendus, "
        f"{int(s['centres_reporting'])} bilans exploitables."
    ]
    parts.append(
        "Manquant : " + ", ".join(bilan.missing) + "." if bilan.missing else "Aucun manquant."
    )
    parts.append(
        "Rejeté : " + ", ".join(bilan.rejected) + " (motif dans « Fichiers écartés »)."
        if bilan.rejected
        else "Aucun rejeté."
    )
    if bilan.deadline is None:
        return (
            f"<p>{escape(' '.join(parts))}</p>"
            '<p class="note">Aucune date limite de dépôt n\'est enregistrée pour cette année : la '
            "date de réception de chaque bilan est indiquée pour repérer les retards.</p>"
        )
    parts.append(
        "Reçu après la date limite : " + ", ".join(bilan.late) + "."
        if bilan.late
        else "Aucun bilan reçu après la date limite."
    )
    deadline = deadline_fr(pd.Timestamp(bilan.deadline).date())
    return (
        f"<p>{escape(' '.join(parts))}</p>"
        f'<p class="note">Date limite de dépôt : {escape(deadline)}.</p>'
    )


def _provisional(bilan: Bilan) -> str:
    """While returns await approval: a notice, and « PROVISOIRE » on every printed page."""
    if not bilan.provisional:
        return ""
    names = bilan.awaiting_approval
    count = french_count(len(names), "centre")
    return (
        '<div class="provisional-mark">BILAN PROVISOIRE</div>'
        f'<p class="provisional"><strong>Bilan provisoire.</strong> Le bilan de {count} n\'est'
        f" pas encore approuvé par un référent de l'ANCT : {escape(', '.join(names))}. Les"
        " chiffres peuvent encore changer.</p>"
    )


def _as_of(bilan: Bilan) -> str:
    """« données de l'entrepôt CRPV au 15/02/2022 à 10:30 »: the warehouse's last change.

    Never the time the page was written: the same data give the same page, byte for byte.
    """
    if bilan.as_of is None:
        return "données de l'entrepôt CRPV"
    when = paris_time(bilan.as_of)
    return f"données de l'entrepôt CRPV au {when:%d/%m/%Y} à {when:%H:%M}"


def render_html(bilan: Bilan, title: str, workbook_name: str | None = None) -> str:
    """The whole page of ``bilan``, as text (UTF-8, no external resource)."""
    year = bilan.year
    workbook = (
        f" Les tableaux sont aussi dans le classeur <code>{escape(workbook_name)}</code>."
        if workbook_name
        else ""
    )
    sections = [
        "<h2>Chiffres clés</h2>",
        _headline(bilan),
        _table(bilan.table("chiffres_cles")),
        "<h2>Évolution des demi-journées</h2>",
        _figure(
            years_chart(bilan.years, year),
            f"Demi-journées par année, pour toutes les années de l'entrepôt ({year} en foncé) ; "
            "sous chaque année, l'évolution par rapport à l'année précédente, calculée sur les "
            "centres ayant transmis les deux années.",
        ),
        _table(bilan.table("evolution")),
        '<p class="note">Chaque évolution compare les mêmes centres : ceux qui ont transmis un '
        "bilan exploitable l'année considérée et l'année précédente (colonne « Centres "
        "comparés »).</p>",
        "<h2>Types d'activité et modalités</h2>",
        _figure(
            types_chart(bilan.by_type, bilan.modalities),
            "Demi-journées par type d'activité, réparties entre présentiel, distanciel et "
            "hybride ; à droite, le total et la part tenue à distance (distanciel seul).",
        ),
        _table(bilan.table("types_modalites")),
        "<h2>Thématiques</h2>",
        _figure(
            themes_chart(bilan.themes),
            "Part des demi-journées de l'année par thématique principale, de la plus grande à "
            "la plus petite, en couleur selon le pilier des contrats de ville.",
        ),
        "<details><summary>Tableau des thématiques</summary>"
        + _table(bilan.table("thematiques"))
        + "</details>",
        "<h2>Activité par centre</h2>",
        _table(bilan.table("centres")),
        '<p class="note">« – » : aucun bilan exploitable (manquant ou rejeté). « non renseigné » : '
        "le centre a laissé vide le nombre de participants de toutes ses activités ; ce nombre "
        "est inconnu, il n'est pas compté comme zéro, et le total national ne couvre que les "
        "centres qui l'ont renseigné. La part à distance est celle des demi-journées en "
        "distanciel.</p>",
        "<h2>Annexe : qualité des données</h2>",
        "<h3>Complétude des retours</h3>",
        _completeness_text(bilan),
        _table(bilan.table("completude")),
        "<h3>Constats et lignes écartées par centre</h3>",
        '<p class="note">Une ligne en erreur est écartée (elle n\'est pas comptée dans ce bilan) ; '
        "un avertissement est signalé au centre mais la ligne est comptée. Un fichier rejeté "
        "n'est pas chargé du tout.</p>",
        _table(bilan.table("constats_centres")),
        "<h3>Constats par règle</h3>",
        _table(bilan.table("constats_regles")),
        "<h3>Fichiers dont viennent les chiffres</h3>",
        '<p class="note">Le fichier dont viennent les chiffres de chaque centre, avec son '
        "empreinte SHA-256 : un même fichier a toujours la même empreinte.</p>",
        _table(bilan.table("fichiers")),
        "<h3>Fichiers écartés</h3>",
        '<p class="note">Fichiers reçus pour l\'année dont les chiffres ne sont pas utilisés '
        "dans ce bilan, avec le motif communiqué au centre. Quand un centre avait déjà transmis "
        "un fichier chargé, ce sont les chiffres de ce dernier qui sont utilisés.</p>",
        _table(bilan.table("fichiers_ecartes")),
        "<h3>Suivi des constats</h3>",
        '<p class="note">Constats des fichiers en vigueur encore ouverts, avertissements acceptés '
        "par un référent de l'ANCT (l'atelier du samedi a bien eu lieu, par exemple), et constats "
        "d'un fichier antérieur que le centre a corrigés en renvoyant son bilan. « Vraisemblance »"
        " : chiffres d'un centre très différents de son année précédente ou des autres centres."
        "</p>",
        _table(bilan.table("suivi_constats")),
    ]
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(bilan.title(title))}</title>
<style>
{_css()}</style>
</head>
<body{' class="provisional"' if bilan.provisional else ""}>
<header class="top"><div>
<h1>{escape(bilan.title(title))}</h1>
<p>{int(bilan.summary["centres_reporting"])} centres sur {int(bilan.summary["centres_expected"])}
ont transmis un bilan exploitable · {_as_of(bilan)}</p>
</div></header>
<main>
{_provisional(bilan)}
{chr(10).join(sections)}
<footer>Source : entrepôt CRPV (tables yearly_summary, yearly_trend, modality_shares,
theme_shares, activity_counts, completeness, submission, validation_failure, dim_rule). Les parts
sont des parts de demi-journées, arrondies à une décimale ; « à distance » désigne la modalité
Distanciel (l'hybride n'est pas compté). La date en tête est celle du dernier fichier enregistré
ou de la dernière décision d'un référent dans l'entrepôt (heure de Paris).{workbook}</footer>
</main>
</body>
</html>
"""
