import pytest

from crpv_pipeline.reference.refdata import default_nomenclature, load_nomenclature, normalize_label


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Type d’activité", "type d activite"),
        ("  Nombre de demi-journées ", "nombre de demi journees"),
        ("THÉMATIQUE\u00a0principale", "thematique principale"),
        ("Intitulé\u200b de l'action", "intitule de l action"),
        ("nombre_de_participants", "nombre de participants"),
    ],
)
def test_normalize_label(raw, key):
    assert normalize_label(raw) == key


@pytest.mark.parametrize(
    ("list_name", "value", "code"),
    [
        ("activity_types", "Formations", "FORMATION"),
        ("activity_types", "cycles de qualifications", "CYCLE_QUALIFICATION"),
        ("activity_types", "GT", "GROUPE_TRAVAIL"),
        ("activity_types", "journée d’étude", "MANIFESTATION"),
        ("modalities", "VISIO", "DISTANCIEL"),
        ("modalities", "en présentiel", "PRESENTIEL"),
        ("themes", "education", "EDUCATION"),
        ("themes", "Valeurs de la Republique et laicite", "VRL"),
        ("publics", "Élus", "ELUS"),
        ("centres", "Institut regional de la ville", "IREV"),
        ("centres", "irev", "IREV"),
    ],
)
def test_match_by_label_synonym_case_accents_plural(list_name, value, code):
    assert getattr(default_nomenclature(), list_name).match(value).code == code


def test_plural_only_where_the_list_allows_it():
    themes = default_nomenclature().themes
    assert themes.match("Santés") is None
    assert default_nomenclature().activity_types.match("Accompagnements").code == "ACCOMPAGNEMENT"


def test_unknown_label_matches_nothing():
    assert default_nomenclature().themes.match("Transition écologique") is None


INVISIBLE = {
    "\u00ad": "soft hyphen",
    "\u061c": "Arabic letter mark",
    "\u200e": "left-to-right mark",
    "\u200f": "right-to-left mark",
    "\u202a": "left-to-right embedding",
    "\u202c": "pop directional formatting",
    "\u202e": "right-to-left override",
    "\u2066": "left-to-right isolate",
    "\u2069": "pop directional isolate",
    "\u2062": "invisible times",
    "\U000e0001": "language tag",
    "\x00": "NUL",
    "\x1b": "escape",
    "\x7f": "delete",
}


@pytest.mark.parametrize("char", list(INVISIBLE), ids=list(INVISIBLE.values()))
def test_invisible_characters_are_dropped_from_labels(char):
    assert normalize_label(f"RésO Villes{char}") == "reso villes"
    assert normalize_label(f"For{char}mation") == "formation"
    assert normalize_label(f"{char}IREV") == "irev"  # an ASCII label once the mark is dropped
    centres = default_nomenclature().centres
    assert centres.match(f"RésO Villes{char}").code == "RESOVILLES"


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_spaces_still_read_as_spaces(char):
    assert normalize_label(f"fin d{char}année") == "fin d annee"


def test_reference_lists_follow_the_contract():
    n = default_nomenclature()
    assert len(n.activity_types) == 6
    assert len(n.modalities) == 3
    assert len(n.themes) == 16
    assert len(n.publics) == 9
    assert len(n.expected_centres(2021)) == 17
    assert n.themes.get("VRL").attrs["pillar"] == "Valeurs de la République et citoyenneté"


def test_a_steward_adds_a_synonym_without_touching_python(tmp_path):
    from importlib import resources

    data = resources.files("crpv_pipeline.reference") / "data"
    for entry in data.iterdir():
        if entry.name.endswith(".csv"):
            (tmp_path / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    themes = tmp_path / "themes.csv"
    themes.write_text(
        themes.read_text(encoding="utf-8").replace(
            "Axes transversaux,JEUNESSE,Jeunesse,no,jeunes",
            "Axes transversaux,JEUNESSE,Jeunesse,no,jeunes|moins de 25 ans",
        ),
        encoding="utf-8",
    )
    custom = load_nomenclature(tmp_path)
    assert custom.themes.match("Moins de 25 ans").code == "JEUNESSE"
    assert custom.version != default_nomenclature().version


def test_a_synonym_used_twice_is_refused(tmp_path):
    from crpv_pipeline.reference.refdata import Entry, ReferenceList

    with pytest.raises(ValueError, match="used by both"):
        ReferenceList(
            "x", [Entry("A", "Alpha", synonyms=("x",)), Entry("B", "Beta", synonyms=("X",))]
        )


def test_a_reference_folder_replaces_only_the_files_it_holds(tmp_path, monkeypatch):
    (tmp_path / "centres.csv").write_text(
        "code,name,region,active_from,active_to,synonyms\n"
        "NOUVEAU,Nouveau centre de ressources,Corse,2022,,NCR\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CRPV_REFERENCE_DIR", str(tmp_path))
    custom = default_nomenclature()
    assert [c.code for c in custom.centres] == ["NOUVEAU"]
    assert custom.centres.match("ncr").code == "NOUVEAU"
    assert [c.code for c in custom.expected_centres(2022)] == ["NOUVEAU"]
    assert custom.themes.match("Éducation").code == "EDUCATION"  # the packaged lists stay
    monkeypatch.delenv("CRPV_REFERENCE_DIR")
    assert len(default_nomenclature().centres) == 17
    assert custom.version != default_nomenclature().version


def test_a_reference_folder_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CRPV_REFERENCE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="CRPV_REFERENCE_DIR=.*nowhere"):
        default_nomenclature()


@pytest.mark.parametrize(
    "text",
    [
        "Ville\u0301 É\u0300cole",  # combining accents, composed or not
        "L\u2019égalité – femmes\u00a0hommes",  # curly apostrophe, en dash, no-break space
        "ﬁn d\u200bannée",  # a ligature (NFKC) and a zero-width space
        "İstanbul ǅ Ⅻ ½",  # casefolding and compatibility forms
        "plain ASCII_label-with 'quotes'",
    ],
)
def test_normalize_label_follows_the_steps_of_the_contract(text):
    import unicodedata

    as_space = str.maketrans(
        {c: " " for c in "-_'\u2010\u2011\u2012\u2013\u2014\u2018\u2019\u02bc\u00b4`"}
    )
    zero_width = str.maketrans({c: " " for c in "\u200b\u200c\u200d\u2060\ufeff"})
    step = unicodedata.normalize("NFKC", text).translate(zero_width)
    step = "".join(c for c in unicodedata.normalize("NFD", step) if not unicodedata.combining(c))
    expected = " ".join(step.casefold().translate(as_space).split())
    assert normalize_label(text) == expected


def test_every_rule_has_a_french_label_beside_its_code():
    nomenclature = default_nomenclature()
    for rule in nomenclature.rules.values():
        assert rule.label and rule.label != rule.rule
        assert "_" not in rule.label
    assert nomenclature.rule_label("half_days_out_of_range") == "Demi-journées hors limites"
