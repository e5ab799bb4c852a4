"""Association blocks of simulated UVES nights: grouping, levels, gaps, modes, dependencies, release."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from services.fetcher.association import (
    PENDING,
    Associated,
    associate,
    awaited_producers,
    is_ready,
    release,
    resolve_pending,
)
from services.fetcher.classification import Classifier
from services.fetcher.night import NightFrames, classify_listing, load_classifier
from shared.contracts import AssociationBlock, Completeness, ProcessingMode
from shared.errors import ConfigError
from shared.instruments.association import AssociationRules, RuleSet, load_association_rules
from shared.rawarchive.models import CalibInfo, RawFileInfo

from .simulated import line_refer_table, master, night_listing, raw_info

NIGHT = date(2024, 3, 1)
BLUE_SCIENCE_CALIBRATIONS = ("ORDER_TABLE_BLUE", "LINE_TABLE_BLUE", "MASTER_BIAS_BLUE", "MASTER_FLAT_BLUE")


@pytest.fixture(scope="module")
def rules() -> AssociationRules:
    return load_association_rules("UVES_ECHELLE")


@pytest.fixture(scope="module")
def rule_set(rules: AssociationRules) -> RuleSet:
    return rules.rule_set_for(NIGHT)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    try:
        return load_classifier("UVES_ECHELLE")
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")


def frames_of(listing: list[RawFileInfo], classifier: Classifier, rule_set: RuleSet) -> NightFrames:
    return classify_listing(listing, classifier, rule_set)


def blue_listing(**choices: object) -> list[RawFileInfo]:
    return night_listing(NIGHT, arms=["blue"], **choices)


def science_block(result: Associated) -> AssociationBlock:
    (block,) = [b for b in result.blocks if b.raw_type == "SCI_POINT_BLUE"]
    return block


def certified_blue_masters(like: RawFileInfo, mjd: float, **overrides: float) -> list[CalibInfo]:
    """Every master a blue science AB needs, at `mjd` unless a PRO.CATG is given its own."""
    return [master(catg, overrides.get(catg, mjd), like) for catg in BLUE_SCIENCE_CALIBRATIONS]


def science_frame(listing: list[RawFileInfo]) -> RawFileInfo:
    return next(info for info in listing if info.header["DPR.CATG"] == "SCIENCE")


def test_a_simulated_night_makes_the_expected_abs_per_raw_type(classifier, rules, rule_set) -> None:
    frames = frames_of(night_listing(NIGHT, preset="demo"), classifier, rule_set)
    result = associate(frames.frames, [line_refer_table()], ProcessingMode.MCALIB, rules)

    counts = Counter(block.raw_type for block in result.blocks)
    # demo: 2 blue + 2 red settings; afternoon (5) and morning (3) biases are two templates per arm
    assert counts == {"BIAS_BLUE": 2, "BIAS_RED": 2, "ARC_LAMP_FORM_BLUE": 2, "ARC_LAMP_FORM_RED": 2,
                      "ORDER_FLAT_BLUE": 2, "ORDER_FLAT_RED": 2, "FLAT_BLUE": 2, "FLAT_RED": 2,
                      "ARC_LAMP_BLUE": 2, "ARC_LAMP_RED": 2}
    assert all(block.completeness is Completeness.COMPLETE for block in result.blocks)
    science = [frame.arcfile for frame in frames.frames if frame.category.startswith("SCI_")]
    assert science and {(s.arcfile, s.reason) for s in result.skipped} == {
        (arcfile, "SCIENCE frame: MCALIB mode makes master calibrations only") for arcfile in science}


def test_ab_fields_follow_the_dfos_conventions(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    store = [*certified_blue_masters(science, science.header["MJD-OBS"] - 0.2), line_refer_table()]
    block = science_block(associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.IDP, rules))

    stem = science.arcfile.removesuffix(".fits")
    assert block.ab_name == f"{stem}_tpl.ab"
    assert block.prod_root_name == f"r.{stem}"
    assert block.recipe == "uves_obs_scired" and block.dpr_catg == "SCIENCE" and block.mode is ProcessingMode.IDP
    assert block.mjd_obs == science.header["MJD-OBS"]
    assert block.mjd_obs_mod == pytest.approx(science.header["MJD-OBS"] + science.header["EXPTIME"] / 2 / 86400)
    assert block.obs_prog_id == science.header["OBS.PROG.ID"] and block.obs_id == science.header["OBS.ID"]
    assert block.raw_match_key["INS.GRAT1.WLEN"] == "390" and block.raw_match_key["DET.WIN1.BINX"] == "2"
    assert [raw.category for raw in block.raw_files] == ["SCI_POINT_BLUE"]
    assert block.ab_id.startswith("UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.")
    bias = next(a for a in block.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert (bias.evaluation, bias.level, bias.role.value) == ("OK", 0, "MCALIB")
    assert bias.delta_days == pytest.approx(-0.2 - science.header["EXPTIME"] / 2 / 86400, abs=1e-5)


def test_an_ab_that_matches_no_keyed_calibration_still_says_its_setting(classifier, rules, rule_set) -> None:
    frames = frames_of(night_listing(NIGHT, arms=["blue"], binning="1x1"), classifier, rule_set)
    result = associate(frames.frames, [line_refer_table()], ProcessingMode.MCALIB, rules)
    (check,) = [b for b in result.blocks if b.raw_type == "ARC_LAMP_FORM_BLUE"]
    assert check.raw_match_key == {"DET.WIN1.BINX": "1", "DET.WIN1.BINY": "1", "INS.GRAT1.ID": "CD#2",
                                   "INS.GRAT1.WLEN": "390"}, "the 1x1 thresholds of QC select on DET.WIN1.BINX"


@pytest.mark.parametrize(
    ("flat_days_away", "level", "evaluation"),
    [(0.5, 0, "OK"), (-1.5, 1, "NOK"), (3.0, 2, "NOK"), (-7.5, 3, "NOK")],
)
def test_a_master_flat_days_away_is_taken_at_a_relaxed_level(
    classifier, rules, rule_set, flat_days_away: float, level: int, evaluation: str
) -> None:
    listing = blue_listing(targets=1)
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    store = certified_blue_masters(science, mjd - 0.2, MASTER_FLAT_BLUE=mjd + flat_days_away)
    block = science_block(associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.IDP, rules))

    flat = next(a for a in block.calibrations if a.pro_catg == "MASTER_FLAT_BLUE")
    assert (flat.level, flat.evaluation) == (level, evaluation)
    assert block.completeness is Completeness.COMPLETE


def test_a_master_flat_beyond_level_3_makes_the_science_ab_incomplete(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    store = certified_blue_masters(science, mjd - 0.2, MASTER_FLAT_BLUE=mjd + 9.0)
    block = science_block(associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.IDP, rules))

    assert block.completeness is Completeness.INCOMPLETE
    assert "no usable MASTER_FLAT_BLUE" in block.incomplete_reason
    assert "outside [-8, +8] d (level 3)" in block.incomplete_reason
    assert "MASTER_FLAT_BLUE" not in {a.pro_catg for a in block.calibrations}


def test_the_closest_in_time_wins_and_losers_say_why(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    store = [
        *certified_blue_masters(science, mjd - 0.2),
        master("MASTER_BIAS_BLUE", mjd - 3.0, science, name="BIAS_FAR"),
        master("MASTER_BIAS_BLUE", mjd + 20.0, science, name="BIAS_LEVEL_2"),
        master("MASTER_BIAS_BLUE", mjd, science, name="BIAS_1X1", **{"DET.WIN1.BINX": 1}),
        master("MASTER_BIAS_BLUE", mjd, science, name="BIAS_RETIRED", status="retired"),
    ]
    block = science_block(associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.IDP, rules))

    bias = next(a for a in block.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert bias.file.startswith("UVES_MASTER_BIAS_BLUE_")
    assert bias.considered == [
        "BIAS_FAR.fits: Δt -3.007 d is farther",
        "BIAS_LEVEL_2.fits: level 2, the chosen one is level 0",
        "BIAS_1X1.fits: DET.WIN1.BINX is 1, not 2",
    ]


def test_equal_candidates_are_broken_by_name_whatever_the_catalogue_order(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    twins = [master("MASTER_BIAS_BLUE", mjd - 1.0, science, name=name) for name in ("B_TWIN", "A_TWIN")]
    frames = frames_of(listing, classifier, rule_set).frames
    for catalogue in (twins, twins[::-1]):
        store = [*certified_blue_masters(science, mjd - 2.0), *catalogue]
        bias = next(a for a in science_block(associate(frames, store, ProcessingMode.IDP, rules)).calibrations
                    if a.pro_catg == "MASTER_BIAS_BLUE")
        assert bias.file == "A_TWIN.fits"


def test_a_relaxable_key_may_differ_only_at_level_3(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    other_speed = {"DET.READ.SPEED": "225kHz/1pt/high"}
    near = certified_blue_masters(science, mjd - 0.2)
    near[3] = master("MASTER_FLAT_BLUE", mjd - 0.2, science, **other_speed)
    frames = frames_of(listing, classifier, rule_set).frames

    flat = next(a for a in science_block(associate(frames, near, ProcessingMode.IDP, rules)).calibrations
                if a.pro_catg == "MASTER_FLAT_BLUE")
    assert flat.level == 3

    near[2] = master("MASTER_BIAS_BLUE", mjd - 0.2, science, **other_speed)  # not relaxable for a bias
    block = science_block(associate(frames, near, ProcessingMode.IDP, rules))
    assert "DET.READ.SPEED is 225kHz/1pt/high, not 1pt/225kHz/lg" in block.incomplete_reason


def test_ab_ids_are_deterministic_and_independent_of_input_order(classifier, rules, rule_set) -> None:
    listing = night_listing(NIGHT, preset="demo")
    frames = list(frames_of(listing, classifier, rule_set).frames)
    first = associate(frames, [line_refer_table()], ProcessingMode.COMPLETE, rules)
    random.Random(7).shuffle(frames)
    again = associate(frames, [line_refer_table()], ProcessingMode.COMPLETE, rules)
    calibration_only = associate(frames, [line_refer_table()], ProcessingMode.MCALIB, rules)

    assert [b.model_dump() for b in first.blocks] == [b.model_dump() for b in again.blocks]
    assert len({b.ab_id for b in first.blocks}) == len(first.blocks)
    calibration_ids = {b.ab_id for b in first.blocks if b.dpr_catg == "CALIB"}
    assert calibration_ids == {b.ab_id for b in calibration_only.blocks}


def test_another_night_or_rule_version_gives_other_ids(classifier, rules, rule_set) -> None:
    frames = frames_of(blue_listing(), classifier, rule_set).frames
    ids = {b.ab_id for b in associate(frames, [], ProcessingMode.MCALIB, rules).blocks}
    renamed = rule_set.model_copy(update={"version": "2099.1"})
    other = {b.ab_id for b in associate(frames, [], ProcessingMode.MCALIB, rules, renamed).blocks}
    assert ids.isdisjoint(other)


def test_mcalib_abs_come_in_dependency_order_with_pending_products(classifier, rules, rule_set) -> None:
    frames = frames_of(night_listing(NIGHT), classifier, rule_set).frames
    result = associate(frames, [line_refer_table()], ProcessingMode.MCALIB, rules)

    position = {block.ab_id: index for index, block in enumerate(result.blocks)}
    for block in result.blocks:
        assert all(position[dependency] < position[block.ab_id] for dependency in block.depends_on)
    blue = [b.raw_type for b in result.blocks if b.raw_type.endswith("BLUE")]
    assert blue == ["BIAS_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE", "ARC_LAMP_BLUE"]

    by_type = {b.raw_type: b for b in result.blocks}
    flat = by_type["FLAT_BLUE"]
    assert flat.depends_on == sorted([by_type["BIAS_BLUE"].ab_id, by_type["ORDER_FLAT_BLUE"].ab_id])
    bias = next(a for a in flat.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert (bias.evaluation, bias.file) == (PENDING, f"{by_type['BIAS_BLUE'].ab_id}:MASTER_BIAS_BLUE")
    wavecal = by_type["ARC_LAMP_RED"]
    assert {a.pro_catg for a in wavecal.calibrations} == {
        "ORDER_TABLE_REDL", "ORDER_TABLE_REDU", "LINE_GUESS_TAB_REDL", "LINE_GUESS_TAB_REDU", "LINE_REFER_TABLE"}
    assert not is_ready(flat) and is_ready(by_type["BIAS_BLUE"])


def test_mcalib_prefers_the_pools_products_over_the_store(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    bias_frame = next(info for info in listing if info.header["DPR.TYPE"] == "BIAS")
    certified = master("MASTER_BIAS_BLUE", bias_frame.header["MJD-OBS"], bias_frame)
    result = associate(frames_of(listing, classifier, rule_set).frames, [certified, line_refer_table()],
                       ProcessingMode.MCALIB, rules)

    flat = next(b for b in result.blocks if b.raw_type == "FLAT_BLUE")
    bias = next(a for a in flat.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert bias.evaluation == PENDING
    assert bias.considered == [f"{certified.filename}: products of this pool are preferred in MCALIB mode"]


def test_the_line_refer_table_is_a_static_calibration(classifier, rules, rule_set) -> None:
    frames = frames_of(blue_listing(), classifier, rule_set).frames
    with_table = associate(frames, [line_refer_table()], ProcessingMode.MCALIB, rules)
    without = associate(frames, [], ProcessingMode.MCALIB, rules)

    predict = next(b for b in with_table.blocks if b.raw_type == "ARC_LAMP_FORM_BLUE")
    (table,) = predict.calibrations
    assert (table.file, table.level, table.evaluation) == ("UVES_LINE_REFER_TABLE.fits", 0, "OK")
    predict = next(b for b in without.blocks if b.raw_type == "ARC_LAMP_FORM_BLUE")
    assert predict.incomplete_reason == "no LINE_REFER_TABLE in the calibration store or this pool"


def test_complete_mode_makes_only_the_masters_the_store_lacks(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    store = [master(catg, mjd - 0.3, science) for catg in ("MASTER_BIAS_BLUE", "ORDER_TABLE_BLUE")]
    result = associate(frames_of(listing, classifier, rule_set).frames, [*store, line_refer_table()],
                       ProcessingMode.COMPLETE, rules)

    kinds = [b.raw_type for b in result.blocks]
    # bias and order table come from the store; flat and line table are made; orderpos not needed
    assert kinds == ["ARC_LAMP_FORM_BLUE", "FLAT_BLUE", "ARC_LAMP_BLUE", "SCI_POINT_BLUE"]
    block = science_block(result)
    by_catg = {a.pro_catg: a for a in block.calibrations}
    assert by_catg["MASTER_BIAS_BLUE"].evaluation == "OK"
    assert by_catg["MASTER_FLAT_BLUE"].evaluation == PENDING
    flat_ab = next(b for b in result.blocks if b.raw_type == "FLAT_BLUE")
    assert flat_ab.depends_on == [] and flat_ab.mode is ProcessingMode.MCALIB
    assert sorted(block.depends_on) == sorted(b.ab_id for b in result.blocks if b.raw_type in ("FLAT_BLUE", "ARC_LAMP_BLUE"))


def test_complete_mode_with_a_full_store_makes_no_masters(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    store = certified_blue_masters(science, science.header["MJD-OBS"] - 0.3)
    result = associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.COMPLETE, rules)

    assert [b.raw_type for b in result.blocks] == ["SCI_POINT_BLUE"]
    assert is_ready(result.blocks[0])


def test_a_night_without_flats_uses_a_flat_days_away_or_is_incomplete(classifier, rules, rule_set) -> None:
    listing = blue_listing(skip_kinds=["flat"])
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    frames = frames_of(listing, classifier, rule_set).frames

    bare = associate(frames, [line_refer_table()], ProcessingMode.COMPLETE, rules)
    assert "FLAT_BLUE" not in {b.raw_type for b in bare.blocks}
    block = science_block(bare)
    assert block.completeness is Completeness.INCOMPLETE
    assert block.incomplete_reason == "no MASTER_FLAT_BLUE in the calibration store or this pool"

    old_flat = master("MASTER_FLAT_BLUE", mjd - 2.5, science)
    helped = science_block(associate(frames, [old_flat, line_refer_table()], ProcessingMode.COMPLETE, rules))
    flat = next(a for a in helped.calibrations if a.pro_catg == "MASTER_FLAT_BLUE")
    assert (helped.completeness, flat.level, flat.file) == (Completeness.COMPLETE, 2, old_flat.filename)


def test_a_group_below_min_ret_is_incomplete_and_a_large_one_is_split(classifier, rules, rule_set) -> None:
    few = associate(frames_of(blue_listing(biases=2), classifier, rule_set).frames, [], ProcessingMode.MCALIB, rules)
    bias = next(b for b in few.blocks if b.raw_type == "BIAS_BLUE")
    assert bias.incomplete_reason == "2 BIAS_BLUE file(s), the rules ask at least 3"
    flat = next(b for b in few.blocks if b.raw_type == "FLAT_BLUE")
    assert "MASTER_BIAS_BLUE" in flat.incomplete_reason  # an incomplete AB offers no products

    many = associate(frames_of(blue_listing(biases=12), classifier, rule_set).frames, [], ProcessingMode.MCALIB, rules)
    assert [len(b.raw_files) for b in many.blocks if b.raw_type == "BIAS_BLUE"] == [6, 6]


def test_frames_without_a_rule_or_category_are_skipped_with_the_reason(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    broken = raw_info({"ARCFILE": "UVES.broken.fits"}, NIGHT, error="truncated: 4000 bytes, headers announce 11520")
    slicer_header = {**science_frame(listing).header, "INS.SLIT1.NAME": "SLIC#1", "ARCFILE": "UVES.slicer.fits"}
    frames = frames_of([*listing, broken, raw_info(slicer_header, NIGHT)], classifier, rule_set)
    result = associate(frames.frames, [], ProcessingMode.IDP, rules)

    assert {(s.arcfile, s.category, s.reason) for s in result.skipped} == {
        ("UVES.broken.fits", "UNCLASSIFIED", "unreadable: truncated: 4000 bytes, headers announce 11520"),
        ("UVES.slicer.fits", "SCI_SLICER_BLUE", "no association rule for SCI_SLICER_BLUE"),
    }


def test_a_frame_missing_a_keyword_the_rules_read_is_unclassified(classifier, rule_set) -> None:
    science = science_frame(blue_listing())
    header = {key: value for key, value in science.header.items() if key != "DET.READ.SPEED"}
    frames = frames_of([raw_info(header, NIGHT)], classifier, rule_set)

    (frame,) = frames.unclassified
    assert frame.reason == "SCI_POINT_BLUE but missing DET.READ.SPEED (read by the association rules)"


def _pool(classifier: Classifier, rules: AssociationRules, rule_set: RuleSet) -> Associated:
    return associate(frames_of(blue_listing(), classifier, rule_set).frames, [line_refer_table()],
                     ProcessingMode.COMPLETE, rules)


def test_resolve_pending_fills_in_the_certified_products(classifier, rules, rule_set) -> None:
    result = _pool(classifier, rules, rule_set)
    by_type = {b.raw_type: b for b in result.blocks}
    flat = by_type["FLAT_BLUE"]
    bias_id, orderpos_id = by_type["BIAS_BLUE"].ab_id, by_type["ORDER_FLAT_BLUE"].ab_id
    like = science_frame(blue_listing())
    made_bias = master("MASTER_BIAS_BLUE", by_type["BIAS_BLUE"].mjd_obs, like, name="MB")

    halfway = resolve_pending(flat, {bias_id: [made_bias]})
    assert awaited_producers(halfway) == [orderpos_id] and not is_ready(halfway)
    bias = next(a for a in halfway.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert (bias.file, bias.evaluation) == ("MB.fits", "OK")
    assert bias.delta_days == pytest.approx(made_bias.mjd_obs - flat.mjd_obs_mod, abs=1e-5)

    made_table = master("ORDER_TABLE_BLUE", by_type["ORDER_FLAT_BLUE"].mjd_obs, like, name="OT")
    done = resolve_pending(halfway, {orderpos_id: [made_table]})
    assert is_ready(done) and {a.file for a in done.calibrations} == {"MB.fits", "OT.fits"}


def test_a_rejected_prerequisite_makes_its_dependants_incomplete(classifier, rules, rule_set) -> None:
    result = _pool(classifier, rules, rule_set)
    by_type = {b.raw_type: b for b in result.blocks}
    predict_id, orderpos_id = by_type["ARC_LAMP_FORM_BLUE"].ab_id, by_type["ORDER_FLAT_BLUE"].ab_id

    waiting = [block for block in result.blocks if block.ab_id != predict_id]
    outcome = release(waiting, certified={}, rejected={predict_id})

    failed = {b.raw_type: b.incomplete_reason for b in outcome.incomplete}
    assert failed["ORDER_FLAT_BLUE"] == f"prerequisite {predict_id} was rejected"
    # the flat needs only the order table, which now never comes: the rejection cascades
    assert failed["FLAT_BLUE"] == f"prerequisite {orderpos_id} was rejected"
    assert set(failed) == {"ORDER_FLAT_BLUE", "FLAT_BLUE", "ARC_LAMP_BLUE", "SCI_POINT_BLUE"}
    assert [b.raw_type for b in outcome.ready] == ["BIAS_BLUE"]
    assert outcome.waiting == []


def test_a_producer_that_delivers_nothing_of_the_kind_makes_the_ab_incomplete(classifier, rules, rule_set) -> None:
    by_type = {b.raw_type: b for b in _pool(classifier, rules, rule_set).blocks}
    bias_id = by_type["BIAS_BLUE"].ab_id
    unrelated = master("MASTER_DARK_BLUE", 60370.0, science_frame(blue_listing()))

    block = resolve_pending(by_type["FLAT_BLUE"], {bias_id: [unrelated]})
    assert block.incomplete_reason == f"prerequisite {bias_id} delivered no certified MASTER_BIAS_BLUE"


def test_candidates_far_outside_the_widest_window_are_only_counted(classifier, rules, rule_set) -> None:
    listing = blue_listing()
    science = science_frame(listing)
    mjd = science.header["MJD-OBS"]
    far = [master("MASTER_BIAS_BLUE", mjd + 100.0 + n, science, name=f"FAR_{n:02d}") for n in range(20)]
    store = [*certified_blue_masters(science, mjd - 0.2), *far]
    block = science_block(associate(frames_of(listing, classifier, rule_set).frames, store, ProcessingMode.IDP, rules))

    bias = next(a for a in block.calibrations if a.pro_catg == "MASTER_BIAS_BLUE")
    assert bias.considered == [
        "FAR_00.fits: Δt +99.993 d is outside [-56, +56] d (level 3)",
        "… and 19 more MASTER_BIAS_BLUE farther outside the level-3 window",
    ]
