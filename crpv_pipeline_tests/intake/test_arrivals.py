import json
import os
import shutil

import pytest

from crpv_pipeline.intake.arrivals import check_inbox, dump_cursor, parse_cursor

YEARS = range(2015, 2031)


def look(inbox, cursor=None):
    return check_inbox(inbox, YEARS, cursor)


def settled(inbox, cursor=None):
    """Two looks: the first sees the files arrive, the second finds them settled."""
    first = look(inbox, cursor)
    return look(inbox, first.cursor)


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox" / "2021"
    folder.mkdir(parents=True)
    (folder / "IREV_2021.xlsx").write_bytes(b"irev v1")
    return tmp_path / "inbox"


def test_a_new_file_waits_one_look_then_requests_a_run(inbox):
    first = look(inbox)
    assert (first.arrivals, first.settling) == ([], [2021])
    second = look(inbox, first.cursor)
    (arrival,) = second.arrivals
    assert (arrival.year, arrival.sequence, arrival.files) == (2021, 1, ("IREV_2021.xlsx",))
    assert arrival.run_key == f"2021-1-{arrival.inbox_digest}"


def test_an_unchanged_inbox_requests_nothing_again(inbox):
    check = settled(inbox)
    again = look(inbox, check.cursor)
    assert (again.arrivals, again.unchanged) == ([], [2021])
    assert again.cursor == check.cursor


def test_a_file_still_growing_waits(inbox):
    check = settled(inbox)
    partial = inbox / "2021" / "ORIV_2021.xlsx"
    partial.write_bytes(b"half")
    growing = look(inbox, check.cursor)
    partial.write_bytes(b"half and more")
    still = look(inbox, growing.cursor)
    assert (still.arrivals, still.settling) == ([], [2021])
    done = look(inbox, still.cursor)
    assert [a.files for a in done.arrivals] == [("IREV_2021.xlsx", "ORIV_2021.xlsx")]


def test_content_decides_not_modification_time(inbox):
    check = settled(inbox)
    path = inbox / "2021" / "IREV_2021.xlsx"
    os.utime(path, (1_600_000_000, 1_600_000_000))  # touched, or copied: same bytes
    assert settled(inbox, check.cursor).arrivals == []
    path.write_bytes(b"irev v2")  # re-saved: new bytes
    (arrival,) = settled(inbox, check.cursor).arrivals
    assert arrival.sequence == 2


def test_an_older_state_coming_back_requests_a_new_run(inbox):
    path = inbox / "2021" / "IREV_2021.xlsx"
    first = settled(inbox)
    path.write_bytes(b"irev v2")
    second = settled(inbox, first.cursor)
    path.write_bytes(b"irev v1")
    third = settled(inbox, second.cursor)
    keys = [c.arrivals[0].run_key for c in (first, second, third)]
    assert len(set(keys)) == 3
    assert keys[0].split("-")[2] == keys[2].split("-")[2]  # same content, new sequence


def test_renaming_a_file_changes_nothing(inbox):
    check = settled(inbox)
    shutil.move(inbox / "2021" / "IREV_2021.xlsx", inbox / "2021" / "Bilan IREV.xlsx")
    assert settled(inbox, check.cursor).arrivals == []


def test_lock_hidden_and_foreign_folders_are_ignored(inbox):
    check = settled(inbox)
    (inbox / "2021" / "~$IREV_2021.xlsx").write_bytes(b"lock")
    (inbox / "2021" / ".DS_Store").write_bytes(b"finder")
    (inbox / "archives").mkdir()
    (inbox / "archives" / "old.xlsx").write_bytes(b"x")
    (inbox / "1999").mkdir()
    (inbox / "1999" / "old.xlsx").write_bytes(b"x")
    again = look(inbox, check.cursor)
    assert (again.arrivals, again.settling, again.unchanged) == ([], [], [2021])


def test_two_years_at_once_and_a_file_removed(inbox):
    (inbox / "2020").mkdir()
    (inbox / "2020" / "IREV_2020.xlsx").write_bytes(b"irev 2020")
    check = settled(inbox)
    assert sorted(a.year for a in check.arrivals) == [2020, 2021]
    (inbox / "2020" / "IREV_2020.xlsx").unlink()
    (removed,) = settled(inbox, check.cursor).arrivals
    assert (removed.year, removed.files) == (2020, ())


def test_an_empty_year_folder_is_not_tracked_and_a_deleted_one_is_forgotten(inbox):
    (inbox / "2019").mkdir()
    check = settled(inbox)
    assert set(parse_cursor(check.cursor)) == {2021}
    shutil.rmtree(inbox / "2021")
    gone = look(inbox, check.cursor)
    assert (gone.arrivals, parse_cursor(gone.cursor)) == ([], {})


def test_the_cursor_stays_small_however_many_files(inbox):
    for i in range(300):
        (inbox / "2021" / f"centre_{i}.xlsx").write_bytes(f"return {i}".encode())
    check = settled(inbox)
    assert len(check.cursor) < 100
    assert json.loads(check.cursor)["v"] == 1


def test_a_foreign_or_broken_cursor_starts_afresh(inbox):
    assert parse_cursor("not json") == {}
    assert parse_cursor(json.dumps({"v": 99, "years": {}})) == {}
    assert parse_cursor(dump_cursor(parse_cursor(None))) == {}
    assert look(inbox, "garbage").settling == [2021]


def test_a_file_added_in_a_subfolder_requests_a_run(inbox):
    check = settled(inbox)
    (inbox / "2021" / "Grand Est").mkdir()
    (inbox / "2021" / "Grand Est" / "~$ORIV_2021.xlsx").write_bytes(b"lock")
    assert settled(inbox, check.cursor).arrivals == []  # an empty folder, a lock file: nothing
    check = settled(inbox, check.cursor)
    (inbox / "2021" / "Grand Est" / "ORIV_2021.xlsx").write_bytes(b"oriv v1")
    first = look(inbox, check.cursor)
    assert (first.arrivals, first.settling) == ([], [2021])
    (arrival,) = look(inbox, first.cursor).arrivals
    assert arrival.files == ("Grand Est/ORIV_2021.xlsx", "IREV_2021.xlsx")


def test_a_file_changed_deep_in_a_subfolder_requests_a_run(inbox):
    deep = inbox / "2021" / "Grand Est" / "Strasbourg"
    deep.mkdir(parents=True)
    (deep / "ORIV_2021.xlsx").write_bytes(b"oriv v1")
    check = settled(inbox)
    (deep / "ORIV_2021.xlsx").write_bytes(b"oriv v2, corrected")
    (arrival,) = settled(inbox, check.cursor).arrivals
    assert arrival.sequence == 2


def test_a_broken_link_settles_and_requests_a_run(inbox):
    """A link is looked at by itself: one pointing nowhere does not keep the year settling."""
    check = settled(inbox)
    (inbox / "2021" / "Grand Est").mkdir()
    (inbox / "2021" / "Grand Est" / "ORIV.xlsx").symlink_to(inbox / "nowhere.xlsx")
    (arrival,) = settled(inbox, check.cursor).arrivals
    assert arrival.files == ("Grand Est/ORIV.xlsx", "IREV_2021.xlsx")
