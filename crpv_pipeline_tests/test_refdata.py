import pytest

from crpv_pipeline.refdata import default_nomenclature, load_nomenclature, normalize_label


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

    data = resources.files("crpv_pipeline") / "data"
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
    from crpv_pipeline.refdata import Entry, ReferenceList

    with pytest.raises(ValueError, match="used by both"):
        ReferenceList(
            "x", [Entry("A", "Alpha", synonyms=("x",)), Entry("B", "Beta", synonyms=("X",))]
        )
