import pytest

from crpv_pipeline import settings


@pytest.mark.parametrize("text", ["0", "-1", "x", "1.5", ""])
def test_a_whole_number_is_one_or_more_and_a_wrong_one_is_named(text):
    with pytest.raises(ValueError) as raised:
        settings.whole_number("CRPV_WORKERS", text, "a whole number of processes, ≥ 1")
    assert str(raised.value) == f"CRPV_WORKERS={text!r}: expected a whole number of processes, ≥ 1"


def test_every_number_setting_says_which_variable_is_wrong():
    with pytest.raises(ValueError, match=r"^CRPV_WORKERS='0': expected a whole number of proc"):
        settings.worker_processes({"CRPV_WORKERS": "0"})
    with pytest.raises(ValueError, match=r"^CRPV_READ_BUDGET_MB='x': expected a whole number"):
        settings.read_budget({"CRPV_READ_BUDGET_MB": "x"})
    with pytest.raises(ValueError, match=r"^CRPV_MAX_ROWS='0': expected a positive whole number$"):
        settings.limit_overrides({"CRPV_MAX_ROWS": "0"})
    assert settings.read_budget({"CRPV_READ_BUDGET_MB": " 2 "}) == 2 * 1024 * 1024
    assert settings.limit_overrides({"CRPV_MAX_FILE_MB": "3"}) == {"max_file_bytes": 3 * 1024**2}


def test_defaults_and_given_values(monkeypatch):
    monkeypatch.delenv("CRPV_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("CRPV_INBOX", raising=False)
    assert settings.warehouse_url() == "sqlite:///crpv_warehouse.sqlite"
    assert settings.warehouse_url("postgresql://x/y") == "postgresql://x/y"
    assert settings.inbox() == "inbox"
    monkeypatch.setenv("CRPV_INBOX", " /srv/inbox ")
    assert settings.inbox() == "/srv/inbox"
    assert settings.inbox("given") == "given"


def test_every_variable_the_help_lists_is_a_setting_of_this_module():
    names = {s.name for s in settings.ENVIRONMENT}
    constants = {v for k, v in vars(settings).items() if k.isupper() and str(v).startswith("CRPV_")}
    assert constants <= names
    assert len(names) == len(settings.ENVIRONMENT)
