import pytest

from services.qc.dictionary import load_dictionary, parse_dictionary
from shared.errors import ConfigError
from shared.pipeline_install import qc_dictionary_file

SNIPPET = """
# comment
Parameter Name:    QC OUTi RON MASTER
Class:             header|qc-log
Type:              double
Unit:              ADU
Comment Field:     Read noise frame in ADU
Description:       Read noise of the master,
                   measured on the frame.

Parameter Name:    QC NLINSOL
Type:              integer
Unit:
Description:       lines in the solution
"""


def test_names_types_units_and_descriptions_are_read():
    dictionary = parse_dictionary(SNIPPET)
    ron = dictionary.lookup("QC.OUT4.RON.MASTER")
    assert ron is not None and ron.name == "QC.OUTi.RON.MASTER"
    assert (ron.type, ron.unit, ron.numeric) == ("double", "ADU", True)
    assert ron.description == "Read noise of the master, measured on the frame."
    assert dictionary.lookup("QC.NLINSOL").type == "integer"
    assert dictionary.lookup("QC.OUTX.RON.MASTER") is None


def test_a_file_without_entries_is_refused(tmp_path):
    path = tmp_path / "empty"
    path.write_text("nothing here\n")
    with pytest.raises(ConfigError, match="not an ESO DFS dictionary"):
        load_dictionary(path)


@pytest.mark.esorex
def test_the_installed_uves_dictionary_describes_the_keys_uves_writes():
    dictionary = load_dictionary(qc_dictionary_file())
    assert len(dictionary.keywords) > 150
    for name in ("QC.OUT1.RON.MASTER", "QC.ORD12.OBJ.SN", "QC.RESOLMED", "QC.LINE.RESIDRMS", "QC.VRAD.BARYCOR"):
        assert dictionary.lookup(name) is not None, name
    assert dictionary.lookup("QC.DID").type == "string"
