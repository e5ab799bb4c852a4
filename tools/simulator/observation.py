"""What every simulated ESO raw frame says about its observation, whatever the instrument.

The pointing, programme, template and DPR keywords and the Paranal site are written the same way
by UVES and by FLAMES/GIRAFFE; `headers` and `giraffe_headers` add their own instrument and
detector keywords around these blocks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from astropy.io import fits
from astropy.time import Time
from pydantic import BaseModel, ConfigDict, Field

# Values as real raw frames carry them (seen in the headers of ESO's real UVES products,
# ../shared/reference/eso-real/mnlup_r.*: they keep the raw frame's keywords).
PARANAL_LATITUDE_DEG = -24.6272
PARANAL_LONGITUDE_DEG = -70.4048
PARANAL_ELEVATION_M = 2648.0
CALIBRATION_PROGRAMME = "60.A-9022(C)"

Dpr = tuple[str, str, str, str]
"""(DPR CATG, DPR TYPE, DPR TECH, template name) of one kind of frame."""


class Observation(BaseModel):
    """When and what one raw frame observed, and the OB and template it belongs to."""

    model_config = ConfigDict(frozen=True)

    start: datetime = Field(description="shutter open, UTC, naive")
    exptime_s: float = Field(ge=0)
    object_name: str
    ra_deg: float = 0.0
    dec_deg: float = 0.0
    programme: str = CALIBRATION_PROGRAMME
    obs_id: int
    template_start: datetime
    template_exposure_number: int = 1
    template_exposures: int = 1

    @property
    def mjd_obs(self) -> float:
        return float(Time(self.start, scale="utc").mjd)


def add_pointing(header: fits.Header, observation: Observation, instrument: str) -> None:
    """ORIGIN to DATE-OBS: who wrote the file, the target, where the telescope pointed and when."""
    end = observation.start + timedelta(seconds=observation.exptime_s)
    header["ORIGIN"] = ("ESO", "European Southern Observatory")
    header["DATE"] = (end.isoformat(timespec="seconds"), "date this file was written")
    header["TELESCOP"] = ("ESO-VLT-U2", "ESO telescope designation")
    header["INSTRUME"] = (instrument, "instrument used")
    header["OBJECT"] = (observation.object_name, "original target")
    header["RA"] = (round(observation.ra_deg, 6), "pointing right ascension (J2000) [deg]")
    header["DEC"] = (round(observation.dec_deg, 6), "pointing declination (J2000) [deg]")
    header["EQUINOX"] = (2000.0, "standard FK5 (years)")
    header["RADECSYS"] = ("FK5", "coordinate reference frame")
    header["EXPTIME"] = (observation.exptime_s, "integration time [s]")
    header["MJD-OBS"] = (round(observation.mjd_obs, 8), "observation start")
    header["DATE-OBS"] = (observation.start.isoformat(timespec="milliseconds"), "observing date")


def add_programme(header: fits.Header, observation: Observation, ob_name: str) -> None:
    """OBS NAME, ID, PROG ID and TARG NAME: the observation block the frame belongs to."""
    header["HIERARCH ESO OBS NAME"] = (ob_name, "OB name")
    header["HIERARCH ESO OBS ID"] = (observation.obs_id, "observation block ID")
    header["HIERARCH ESO OBS PROG ID"] = (observation.programme, "ESO program identification")
    header["HIERARCH ESO OBS TARG NAME"] = (observation.object_name, "OB target name")


def add_template(header: fits.Header, observation: Observation, template_id: str, template_name: str, dpr: Dpr) -> None:
    """TPL ID to NEXP and DPR CATG/TYPE/TECH: the template run and how ESO classifies the frame."""
    catg, dpr_type, tech, _ = dpr
    header["HIERARCH ESO TPL ID"] = (template_id, "template signature ID")
    header["HIERARCH ESO TPL NAME"] = (template_name, "template name")
    header["HIERARCH ESO TPL START"] = (observation.template_start.isoformat(timespec="seconds"), "TPL start time")
    header["HIERARCH ESO TPL EXPNO"] = (observation.template_exposure_number, "exposure number within template")
    header["HIERARCH ESO TPL NEXP"] = (observation.template_exposures, "number of exposures within template")
    header["HIERARCH ESO DPR CATG"] = (catg, "observation category")
    header["HIERARCH ESO DPR TYPE"] = (dpr_type, "observation type")
    header["HIERARCH ESO DPR TECH"] = (tech, "observation technique")


def add_site(header: fits.Header) -> None:
    header["HIERARCH ESO TEL GEOLAT"] = (PARANAL_LATITUDE_DEG, "latitude [deg]")
    header["HIERARCH ESO TEL GEOLON"] = (PARANAL_LONGITUDE_DEG, "longitude [deg]")
    header["HIERARCH ESO TEL GEOELEV"] = (PARANAL_ELEVATION_M, "elevation above sea level [m]")
