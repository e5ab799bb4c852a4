import pytest
from pydantic import BaseModel

from shared.errors import ConfigError
from shared.instruments import load_toml_model, mode_dir


class Window(BaseModel):
    days_before: float
    days_after: float


class Rules(BaseModel):
    name: str
    windows: list[Window]


def test_unknown_mode_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="UVES_ECHELLE"):
        mode_dir("NOPE")
    assert mode_dir("UVES_ECHELLE").name == "uves_echelle"


def test_syntax_error_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('name = "x"\nwindows = [\n  { days_before = 1, days_after = }\n]\n')
    with pytest.raises(ConfigError, match=r"rules\.toml: .*line 3"):
        load_toml_model(path, Rules)


def test_invalid_value_names_file_line_and_key(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('name = "x"\n\n[[windows]]\ndays_before = 1\ndays_after = "soon"\n')
    with pytest.raises(ConfigError, match=r"rules\.toml:5: windows\.0\.days_after"):
        load_toml_model(path, Rules)


def test_an_error_in_a_repeated_table_names_that_table_s_line(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('name = "x"\n\n[[windows]]\ndays_before = 1\ndays_after = 2\n\n[[windows]]\ndays_before = 1\n'
                    'days_after = "soon"\n')
    with pytest.raises(ConfigError, match=r"rules\.toml:9: windows\.1\.days_after"):
        load_toml_model(path, Rules)
