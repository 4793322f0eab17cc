"""``crpv review``: what awaits a steward's decision for a year, and taking one.

Belongs here: the arguments of ``crpv review``, the list of what awaits a decision as stewards
read it (in French, each item with the command that decides it), turning a decision into
``warehouse.review.take_decision`` and its refusals into ``Error: …`` (exit 2), and reading back
a filled overview workbook (``--apply``, dry run unless ``--record``). Stays out: what a
decision may do and changes (``warehouse.review``), the workbook's layout
(``outputs.steward_overview``). Its errors and exit codes are those of ``cli``.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
from pathlib import Path

from crpv_pipeline import settings
from crpv_pipeline.cli_checks import EXIT_OK, EXIT_USAGE, CliError, openable_warehouse, say

EXIT_NOT_FINAL = 4
"""Exit status of ``crpv report --final`` while exploitable returns await approval."""
DECISION_CHOICES = ("accept", "confirm", "exclude", "approve", "reopen")
SHOWN_DIGITS = 12
"""Digits of a SHA-256 the list shows and its commands use (any 8 or more name a file)."""


def add_review_parser(sub) -> None:
    """Add ``crpv review`` to the subcommands of ``crpv``."""
    review = sub.add_parser(
        "review",
        help="list what awaits a steward's decision for a year, or take one",
        description=(
            "Without a decision: list, centre by centre, what awaits a steward for the year "
            "(warnings to accept, held returns to confirm or exclude, returns to approve), each "
            "with the command that decides it. With a decision: record it for the file named "
            "by its SHA-256 (or its first 8 digits or more), with who and why, apply it and "
            "rebuild the year's tables. Decisions are never deleted: a new one on the same "
            "file and subject supersedes the previous one. With --apply: read a filled "
            "stewards' overview workbook (« Décision » and « Motif » columns) and say what it "
            "would record; --record records it. Exit 2 when a decision is refused."
        ),
    )
    review.add_argument("--year", type=int, required=True, help="the reported year, e.g. 2021")
    review.add_argument(
        "decision", nargs="?", choices=DECISION_CHOICES, help="the decision to take"
    )
    review.add_argument("file", nargs="?", metavar="SHA256", help="the file's SHA-256 (8+ digits)")
    review.add_argument(
        "--finding", metavar="KEY", help="accept: the finding's key, as the list gives it"
    )
    review.add_argument(
        "--subject",
        metavar="SUBJECT",
        help="reopen: what to reopen, « approval » or a finding's key (default: approval)",
    )
    review.add_argument("--reason", metavar="TEXT", help="why (required with a decision)")
    review.add_argument(
        "--by", metavar="NAME", help="who decides (default: the login name of this session)"
    )
    review.add_argument(
        "--apply",
        metavar="FILE",
        help="a filled stewards' overview workbook (suivi_bilans_<year>.xlsx, or saved as .ods)"
        " to read back",
    )
    review.add_argument(
        "--record",
        action="store_true",
        help="with --apply: record the decisions (default: only say what would be recorded)",
    )
    review.add_argument(
        "--warehouse",
        metavar="URL",
        help="warehouse URL (default: $CRPV_WAREHOUSE_URL or the embedded SQLite file)",
    )
    review.add_argument(
        "--output",
        metavar="DIR",
        help="output folder whose stewards' overview of the year is written again once"
        " decisions are recorded (default: $CRPV_OUTPUT or ./crpv_output; only if a run wrote"
        " the year's outputs there)",
    )
    review.set_defaults(func=cmd_review)


def cmd_review(args: argparse.Namespace) -> int:
    from crpv_pipeline.reference.deadlines import DeadlineError, parse_deadlines
    from crpv_pipeline.warehouse.engine import WarehouseError, create_warehouse_engine
    from crpv_pipeline.warehouse.review import DecisionRefused

    if args.apply and args.decision:
        raise CliError("give either a decision or --apply FILE, not both", EXIT_USAGE)
    if args.record and not args.apply:
        raise CliError("--record goes with --apply FILE", EXIT_USAGE)
    if args.decision and not args.file:
        raise CliError(f"{args.decision}: name the file by its SHA-256", EXIT_USAGE)
    if args.decision and not (args.reason or "").strip():
        raise CliError(f"{args.decision}: say why with --reason", EXIT_USAGE)
    if args.apply and not Path(args.apply).is_file():
        raise CliError(f"--apply {args.apply}: no such file", EXIT_USAGE)
    url = settings.warehouse_url(args.warehouse)
    openable_warehouse(url)
    _require_warehouse(url)
    try:
        deadlines = parse_deadlines(settings.text(settings.DEADLINES))
    except DeadlineError as err:
        raise CliError(f"{settings.DEADLINES}: {err}", EXIT_USAGE) from err
    by = args.by or _login()
    try:
        engine = create_warehouse_engine(url)
        try:
            _derived_year(engine, args.year)
            if args.apply and not args.record:
                return _apply(engine, args, by, deadlines)
            if not args.decision and not args.apply:
                return _list(engine, args.year)
            from crpv_pipeline.warehouse.decisions import last_decision_id
            from crpv_pipeline.warehouse.locks import year_lock

            with year_lock(url, args.year):  # no run of the year loads while a decision applies
                before = last_decision_id(engine, args.year)
                try:
                    if args.apply:
                        return _apply(engine, args, by, deadlines)
                    return _decide(engine, args, by, deadlines)
                finally:
                    if last_decision_id(engine, args.year) != before:
                        _refresh_overview(engine, args.year, args.output)
        finally:
            engine.dispose()
    except DecisionRefused as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except WarehouseError as err:
        raise CliError(str(err)) from err


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        raise CliError("say who decides with --by NAME", EXIT_USAGE) from None


def _require_warehouse(url: str) -> None:
    """A SQLite warehouse must exist: opening a missing file would create it empty."""
    import sqlalchemy as sa

    from crpv_pipeline.warehouse.engine import sqlite_file

    try:
        database = sqlite_file(sa.make_url(url))
    except sa.exc.ArgumentError:
        return  # create_warehouse_engine says what is wrong with it
    if database is not None and not database.is_file():
        raise CliError(f"no warehouse at {database}: run `crpv run` first", EXIT_USAGE)


def _derived_year(engine, year: int) -> None:
    """The year must have been run: its completeness says what awaits a decision."""
    from crpv_pipeline.warehouse.tables import count_rows

    if count_rows(engine, "completeness", year) == 0:
        raise CliError(
            f"the warehouse has no data for {year}: run `crpv run --year {year}` first",
            EXIT_USAGE,
        )


def _refresh_overview(engine, year: int, output: str | None) -> None:
    """Write the year's stewards' overview again, if a run wrote the year's outputs there.

    It then lists what still awaits a decision and the state it was written in, so that a
    workbook filled before these decisions is never applied over them. An overview filled in
    place is kept aside first (``fingerprint.refresh``), with what was typed there.
    """
    from crpv_pipeline.year.outputs import write_year_overview

    folder = Path(settings.output(output)) / str(year)
    if not folder.is_dir():
        return
    path = write_year_overview(engine, year, folder, progress=say)
    say(f"Stewards' overview written again: {path}")


def _decide(engine, args: argparse.Namespace, by: str, deadlines) -> int:
    from crpv_pipeline.warehouse.review import take_decision

    taken = take_decision(
        engine,
        args.year,
        args.decision,
        args.file,
        reason=args.reason,
        decided_by=by,
        finding=args.finding,
        subject=args.subject,
        deadlines=deadlines,
    )
    say(f"Decision {taken.decision_id} recorded: {taken.effect}")
    return EXIT_OK


KIND_FR = {
    "finding": "Avertissement à accepter",
    "held": "Bilan retenu, non mis en vigueur : à confirmer ou à écarter",
    "dropped": "Bilan avec nombreuses activités en moins : à confirmer ou à écarter",
    "stray": (
        "Fichier rejeté comme second fichier du centre : à écarter s'il a été envoyé par erreur"
    ),
    "approval": "Approbation du bilan",
}
APPROVAL_FR = {
    "received": "reçu, des constats restent ouverts (à traiter avant d'approuver)",
    "reviewed": "examiné, rien d'ouvert : à approuver",
}


def pending_lines(items, year: int) -> list[str]:
    """The list ``crpv review`` prints: centre by centre, each item with its command."""
    from crpv_pipeline.reference.parsing import french_count
    from crpv_pipeline.reference.refdata import default_nomenclature

    nomenclature = default_nomenclature()
    names = {c.code: c.label for c in nomenclature.centres}
    decisions = sum(i.kind != "approval" or i.approval == "reviewed" for i in items)
    lines = [f"Bilans {year} : {french_count(decisions, 'décision')} en attente"]
    current = None
    for item in items:
        head = (item.centre_code, item.file_sha256)
        if head != current:
            current = head
            centre = item.centre_code or "centre non identifié"
            lines += [
                "",
                f"{centre} — {names.get(item.centre_code, '')} : « {item.file_name} »"
                f" (SHA-256 {item.file_sha256[:SHOWN_DIGITS]}…, soumission {item.submission_id})",
            ]
        text = KIND_FR[item.kind]
        if item.kind == "finding":
            text += f" — {nomenclature.rule_label(item.rule)}"
            text += f", {item.location}" if item.location else ""
            text += f" : {item.message}"
        elif item.kind == "approval":
            text += f" : {APPROVAL_FR[item.approval]}"
        elif item.message:
            text += f" — {item.message}"
        lines.append(f"  {text}")
        if item.kind == "approval" and item.approval != "reviewed":
            continue
        for decision in item.choices:
            command = ["crpv", "review", "--year", str(year), decision]
            command.append(item.file_sha256[:SHOWN_DIGITS])
            if decision == "accept":
                command += ["--finding", item.subject]
            lines.append(f'    {shlex.join(command)} --reason "…"')
    return lines


def _list(engine, year: int) -> int:
    from crpv_pipeline.warehouse.awaiting import pending

    print("\n".join(pending_lines(pending(engine, year), year)))
    return EXIT_OK


ORDER = ("accept", "confirm", "exclude", "reopen", "approve")
"""Decisions of a workbook are recorded in this order: a centre's warnings accepted in the same
workbook count before its approval is judged."""


def _apply(engine, args: argparse.Namespace, by: str, deadlines) -> int:
    """``--apply FILE``: reconcile the filled « Décisions » sheet with the warehouse, then record.

    A row is applied only if its file (SHA-256) and subject still await that decision now:
    rows of a workbook written before a new file arrived, or decided since, are left out and
    said. Dry run unless ``--record``. Exit 1 when some row cannot be applied.
    """
    from crpv_pipeline.outputs.overview_decisions import OverviewError, read_decisions
    from crpv_pipeline.warehouse.awaiting import pending
    from crpv_pipeline.warehouse.decisions import DECISION_LABELS, decided_since
    from crpv_pipeline.warehouse.review import DecisionRefused, take_decision

    path = Path(args.apply)
    try:
        year, as_of, rows = read_decisions(path)
    except OverviewError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    if year != args.year:
        raise CliError(
            f"--apply {path}: this is the stewards' overview of {year or 'an unknown year'},"
            f" not of {args.year}",
            EXIT_USAGE,
        )
    items = {(i.file_sha256, i.subject): i for i in pending(engine, args.year)}
    since = decided_since(engine, args.year, as_of)
    plan, left_out = [], []
    for row in rows:
        item = items.get((row.file_sha256, row.subject))
        about = "" if row.subject in ("approval", "return", "") else f", {row.subject}"
        where = f"Ligne {row.row} ({row.centre_code or '?'}, « {row.file_name} »{about})"
        later = since.get((row.file_sha256, row.subject))
        if not row.label:
            left_out.append(f"{where} : motif sans décision : choisissez-la dans « Décision »")
        elif later is not None:
            left_out.append(
                f"{where} : décidé depuis ce classeur (décision n° {later.decision_id},"
                f" {DECISION_LABELS[later.decision]}, par {later.decided_by}) : ligne ignorée ;"
                " voyez le classeur de suivi le plus récent"
            )
        elif row.decision is None:
            left_out.append(f"{where} : « {row.label} » n'est pas une décision de la liste")
        elif item is None:
            left_out.append(
                f"{where} : n'attend plus de décision (décidé depuis, ou le centre a envoyé un"
                " autre fichier) : ligne ignorée ; voyez le classeur de suivi le plus récent"
            )
        elif row.decision not in item.choices:
            left_out.append(f"{where} : « {row.label} » n'est pas possible sur cette ligne")
        elif not row.reason:
            left_out.append(f"{where} : « {row.label} » sans motif : écrivez-le dans « Motif »")
        else:
            plan.append((row, item))
    plan.sort(key=lambda pair: ORDER.index(pair[0].decision))
    decided = {(r.file_sha256, r.subject) for r, _ in plan}
    refused = 0
    print(f"{path} : {french_decisions(len(plan))} à enregistrer pour {args.year}")
    for row, item in plan:
        label = DECISION_LABELS[row.decision]
        what = f"{label} — {item.centre_code}, « {item.file_name} »"
        what += f", {item.subject}" if row.decision == "accept" else ""
        still_open = [
            i
            for i in items.values()
            if i.file_sha256 == item.file_sha256
            and i.kind != "approval"
            and (i.file_sha256, i.subject) not in decided
        ]
        if row.decision == "approve" and still_open:
            refused += 1
            n_open = len(still_open)
            print(f"  Ligne {row.row} : {what} : impossible, {n_open} constat(s) encore ouvert(s)")
            continue
        if not args.record:
            print(f"  Ligne {row.row} : {what} (motif : « {row.reason} »)")
            continue
        try:
            taken = take_decision(
                engine,
                args.year,
                row.decision,
                row.file_sha256,
                reason=row.reason,
                decided_by=by,
                finding=row.subject if row.decision == "accept" else None,
                subject=row.subject if row.decision == "reopen" else None,
                deadlines=deadlines,
            )
        except DecisionRefused as err:
            refused += 1
            print(f"  Ligne {row.row} : {what} : refusé ({err})")
            continue
        print(f"  Ligne {row.row} : {what} : enregistré (décision {taken.decision_id})")
    for line in left_out:
        print(f"  {line}")
    if not args.record:
        say(f"Dry run: nothing recorded; add --record to record them (as {by}).")
    return 1 if left_out or refused else EXIT_OK


def french_decisions(n: int) -> str:
    """``1 décision``, ``3 décisions``."""
    from crpv_pipeline.reference.parsing import french_count

    return french_count(n, "décision")
