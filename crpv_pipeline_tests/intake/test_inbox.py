import os

import pytest

from crpv_pipeline.intake.inbox import discover_returns, relative_name
from crpv_pipeline.intake.validation import validate_return


def names(folder):
    return [relative_name(p, folder) for p in discover_returns(folder)]


def test_returns_in_subfolders_are_listed_lock_and_hidden_ones_left_out(tmp_path):
    for name in (
        "IREV_2021.xlsx",
        "~$IREV_2021.xlsx",
        ".DS_Store",
        "Grand Est/ORIV.xlsx",
        "Grand Est/~$ORIV.xlsx",
        "Grand Est/Archives 2020/ORIV_2020.xlsx",
        "Occitanie/bilan.xlsx",
        ".git/objects/pack.xlsx",
        "Occitanie/.cache/bilan.xlsx",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "vide").mkdir()
    assert names(tmp_path) == [
        "Grand Est/Archives 2020/ORIV_2020.xlsx",
        "Grand Est/ORIV.xlsx",
        "IREV_2021.xlsx",
        "Occitanie/bilan.xlsx",
    ]
    assert discover_returns(tmp_path / "absent") == []


def test_links_are_listed_never_followed_even_to_a_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xlsx").write_bytes(b"x")
    year = tmp_path / "2021"
    (year / "Grand Est").mkdir(parents=True)
    (year / "Grand Est" / "lien").symlink_to(outside, target_is_directory=True)
    (year / "bilan.xlsx").symlink_to(outside / "secret.xlsx")
    (year / "cassé.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    assert names(year) == ["Grand Est/lien", "bilan.xlsx", "cassé.xlsx"]


def test_pipes_are_not_returns(tmp_path):
    os.mkfifo(tmp_path / "pipe.xlsx")
    assert discover_returns(tmp_path) == []


def test_a_subfolder_that_cannot_be_listed_is_listed_itself(tmp_path, monkeypatch):
    """It then gets a finding (unreadable) instead of its centre silently missing."""
    (tmp_path / "Grand Est").mkdir()
    real_walk = os.walk

    def walk(top, onerror=None, followlinks=False):
        for entry in real_walk(top, onerror=onerror, followlinks=followlinks):
            yield entry
            if entry[0] == str(tmp_path):
                onerror(PermissionError(13, "Permission denied", str(tmp_path / "Grand Est")))
                entry[1].clear()

    monkeypatch.setattr(os, "walk", walk)
    assert names(tmp_path) == ["Grand Est"]
    result = validate_return(tmp_path / "Grand Est", 2021, relative_name="Grand Est")
    assert (result.status, result.file_name) == ("rejected", "Grand Est")
    assert [(f.file_name, f.rule, f.message) for f in result.findings] == [
        (
            "Grand Est",
            "unreadable_file",
            "Le fichier ne peut pas être ouvert (c'est un dossier, dont le contenu n'a pas pu être"
            " lu) : ouvrez-le dans votre tableur, enregistrez-le à nouveau au format .xlsx et"
            " renvoyez-le.",
        )
    ]


@pytest.mark.parametrize(
    ("relative", "shown"),
    [("IREV.xlsx", "IREV.xlsx"), ("Grand Est/IREV.xlsx", "Grand Est/IREV.xlsx")],
)
def test_relative_name(tmp_path, relative, shown):
    assert relative_name(tmp_path / relative, tmp_path) == shown
    assert relative_name(tmp_path.parent / "ailleurs.xlsx", tmp_path) == "ailleurs.xlsx"


def test_a_name_with_bytes_that_are_not_utf8_is_shown_with_a_replacement(tmp_path):
    path = tmp_path / os.fsdecode(b"Grand Est") / os.fsdecode(b"bilan\xe9.xlsx")
    assert relative_name(path, tmp_path) == "Grand Est/bilan\ufffd.xlsx"
