"""The GIRAFFE_MEDUSA rule folder loads in every service's model, and its QC comes from GIRAFFE's dictionary."""

from __future__ import annotations

from datetime import date

import pytest

from services.certifier.policies import load_rules
from services.ingestor.releases import load_all_releases
from services.processor.recipes import load_recipes
from services.qc.service import load_all_dictionaries, load_all_thresholds
from shared.errors import ConfigError
from shared.instruments import mode_dir
from shared.instruments.association import load_association_rules, pipeline_plugin

MODE = "GIRAFFE_MEDUSA"


def test_every_rule_file_of_the_mode_loads() -> None:
    assert pipeline_plugin(MODE) == "giraf"
    rule_set = load_association_rules(MODE).rule_set_for(date(2024, 3, 1))
    assert {rule.raw_type for rule in rule_set.raw_types} == {"BIAS", "DARK", "FIBER_FLAT", "ARC_SPECTRUM", "SCIENCE"}
    assert set(load_recipes(MODE).recipes) == {"gimasterbias", "gimasterdark"}
    assert load_rules(mode_dir(MODE) / "certification.toml").instrument_mode == MODE
    assert load_all_releases()[MODE].default_release == "GIRAFFE_MEDUSA_MCALIB_2026.1"
    thresholds = load_all_thresholds()[MODE].select(date(2024, 3, 1))
    assert thresholds is not None and thresholds.version == "GIRAFFE_MEDUSA-2003.1"


def test_every_scored_or_informational_qc_parameter_is_in_the_giraffe_qc_dictionary() -> None:
    """QC.* names only: PRO.DATAMED is CPL's product keyword, not in the QC dictionary."""
    try:
        dictionary = load_all_dictionaries([MODE])[MODE]
    except ConfigError as error:
        pytest.skip(f"GIRAFFE pipeline not installed: {error}")
    thresholds = load_all_thresholds()[MODE].select(date(2024, 3, 1))
    assert thresholds is not None
    listed = [t.parameter for t in thresholds.thresholds] + [p for i in thresholds.informational for p in i.parameters]
    for parameter in (p for p in listed if p.startswith("QC.")):
        keyword = dictionary.lookup(parameter)
        assert keyword is not None and keyword.numeric, parameter
    assert dictionary.lookup("QC.DARK.CURRENT").unit == "ADU/hr"
