"""The association block (AB): raw frames + master calibrations + the recipe to run.

Field names follow ESO's dfos AB files (INSTRUMENT, DATE, DPR_CATG, RAW_TYPE, RECIPE, ...),
in snake case.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from shared.contracts.base import Event, Model
from shared.modes import ProcessingMode


class Completeness(StrEnum):
    COMPLETE = "COMPLETE"
    INCOMPLETE = "INCOMPLETE"


class CalibrationRole(StrEnum):
    MCALIB = "MCALIB"
    """Required by the recipe."""
    MASSOC = "MASSOC"
    """Extra, associated for QC only."""


class StagedFile(Model):
    """Where a staged copy of a file lives, and how to check it."""

    uri: str = Field(description="Location in the file store.", examples=["file:///data/store/ab/12/ab12cd.fits"])
    size_bytes: int = Field(ge=0, description="File size.", examples=[4218880])
    sha256: str = Field(
        pattern="^[0-9a-f]{64}$",
        description="SHA-256 of the file content.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )


class RawFrame(Model):
    arcfile: str = Field(description="Archive file name.", examples=["UVES.2015-02-23T23:12:01.123.fits"])
    category: str = Field(description="DO.CATG from classification (the esorex tag).", examples=["SCI_POINT_BLUE"])
    mjd_obs: float = Field(description="MJD-OBS of the exposure start [d].", examples=[57076.9667])
    exposure_seconds: float = Field(default=0.0, ge=0, description="EXPTIME [s].", examples=[1200.0])
    staged: StagedFile | None = Field(default=None, description="Set once the fetcher has staged the file.")


class Association(Model):
    """One line of the association log: a calibration chosen for the AB, and why."""

    evaluation: str = Field(description="OK or NOK: the time-match verdict.", examples=["OK"])
    role: CalibrationRole = Field(description="MCALIB (required) or MASSOC (extra, for QC).", examples=["MCALIB"])
    file: str = Field(description="Calibration file name.", examples=["UVES_MBIAS_BLUE_2015-02-23_2x2.fits"])
    pro_catg: str = Field(description="PRO.CATG of the calibration (the esorex tag).", examples=["MASTER_BIAS_BLUE"])
    delta_days: float = Field(description="Signed Δt calibration − AB (MJD-OBS_MOD) [d].", examples=[0.549])
    level: int = Field(
        default=0,
        description="Association quality: 0 as the rules ask; 1, 2, 3 progressively relaxed; "
        "negative stricter than asked.",
        examples=[0],
    )
    considered: list[str] = Field(
        default_factory=list,
        description="Candidates that lost, each with the reason.",
        examples=[["UVES_MBIAS_BLUE_2015-02-20_2x2.fits: Δt 3.4 d is farther"]],
    )
    staged: StagedFile | None = Field(default=None, description="Set once the fetcher has staged the file.")


class AssociationBlock(Model):
    ab_id: str = Field(
        description="Deterministic id: the same night, rules and inputs give the same id.",
        examples=["UVES_ECHELLE.2015-02-23.SCI_POINT_BLUE.4f2a9c1e"],
    )
    ab_name: str = Field(description="AB_NAME: first raw file + grouping tag.", examples=["UVES.2015-02-23T23:12:01.123_tpl.ab"])
    instrument: str = Field(description="INSTRUMENT.", examples=["UVES"])
    instrument_mode: str = Field(description="Instrument mode whose rules built the AB.", examples=["UVES_ECHELLE"])
    night: date = Field(description="DATE: the processing night (evening date).", examples=["2015-02-23"])
    mode: ProcessingMode = Field(description="IDP or MCALIB.", examples=["IDP"])
    dpr_catg: str = Field(description="DPR_CATG (CALIB or SCIENCE).", examples=["SCIENCE"])
    raw_type: str = Field(description="RAW_TYPE from classification.", examples=["SCI_POINT_BLUE"])
    recipe: str = Field(description="RECIPE from association.", examples=["uves_obs_scired"])
    ab_event: str = Field(default="", description="AB_EVENT: the grouping rule.", examples=["TPL.START"])
    completeness: Completeness = Field(default=Completeness.COMPLETE, description="COMPLETENESS.", examples=["COMPLETE"])
    incomplete_reason: str = Field(default="", description="Why an INCOMPLETE AB is incomplete.", examples=[""])
    obs_prog_id: str = Field(default="", description="OBS_PROG_ID of the first raw file.", examples=["094.D-0123(A)"])
    obs_id: int | None = Field(default=None, description="OBS_ID of the first raw file.", examples=[1234567])
    mjd_obs: float = Field(description="MJD-OBS of the first raw file [d].", examples=[57076.9667])
    mjd_obs_mod: float = Field(description="MJD-OBS + EXPTIME/2, used for time matching [d].", examples=[57076.9736])
    raw_match_key: dict[str, str] = Field(
        default_factory=dict,
        description="RAW_MATCH_KEY: the name=value keys used to match calibrations.",
        examples=[{"DET.WIN1.BINX": "2", "INS.GRAT1.WLEN": "390"}],
    )
    prod_root_name: str = Field(default="", description="PROD_ROOT_NAME.", examples=["r.UVES.2015-02-23T23:12:01.123"])
    raw_files: list[RawFrame] = Field(min_length=1, description="The raw frames of the AB.")
    calibrations: list[Association] = Field(default_factory=list, description="The association log.")
    depends_on: list[str] = Field(
        default_factory=list,
        description="ab_ids whose certified products this AB needs (cascades).",
        examples=[["UVES_ECHELLE.2015-02-23.BIAS_BLUE.0a1b2c3d"]],
    )
    parameter_set: str = Field(default="", description="Recipe parameter set name.", examples=["IDP"])


class AbEvent(Event):
    """An event about one AB: keyed by its ab_id, so all of an AB's events stay in order on one partition."""

    ab: AssociationBlock = Field(description="The AB this event is about.")

    @property
    def partition_key(self) -> str:
        return self.ab.ab_id
