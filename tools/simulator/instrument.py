"""UVES as the simulator sees it: arms, standard settings, detector chips and their geometry."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError


class Arm(StrEnum):
    BLUE = "blue"
    RED = "red"


class Chip(BaseModel):
    """One CCD as read out: its name in the pipeline (BLUE, REDL, REDU) and its electronics."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="pipeline chip name", examples=["REDL"])
    chip_id: str = Field(description="ESO DET CHIPn ID", examples=["CCD-44b"])
    chip_name: str = Field(description="ESO DET CHIPn NAME", examples=["EEV"])
    nx: int = Field(2048, description="unbinned light-sensitive columns")
    ny: int = Field(description="unbinned rows read out")
    prescan: int = Field(50, description="unbinned prescan columns")
    overscan: int = Field(50, description="unbinned overscan columns")
    gain_adu_per_electron: float = Field(description="ESO DET OUT1 GAIN (electrons to ADU)")
    read_noise_electrons: float = Field(description="ESO DET OUT1 RON")
    bias_level_adu: float = Field(description="mean bias level")
    dark_electrons_per_hour: float = Field(1.5, description="dark current")


# Gain (ESO DET OUT1 GAIN, ADU per electron; CONAD is its inverse) and read noise as ESO's
# real UVES frames read at 225 kHz, low gain, record them: the headers of the real 1x1 line
# tables in ../shared/reference/eso-real (blue CCD-44b: GAIN 0.54, CONAD 1.84, RON 3.8 e-,
# 2012-2024; red 2010: REDL 0.68 / 4.0 e-, REDU CCD-20 0.71 / 4.0 e-; real red frames read
# each chip through two ports, the simulator through one).
BLUE_CHIP = Chip(
    name="BLUE",
    chip_id="CCD-44b",
    chip_name="EEV",
    ny=3000,
    gain_adu_per_electron=0.54,
    read_noise_electrons=3.8,
    bias_level_adu=178.0,
)
REDL_CHIP = Chip(
    name="REDL",
    chip_id="CCD-44b",
    chip_name="EEV",
    ny=4096,
    gain_adu_per_electron=0.68,
    read_noise_electrons=4.0,
    bias_level_adu=189.0,
)
REDU_CHIP = Chip(
    name="REDU",
    chip_id="CCD-20",
    chip_name="MIT-LL",
    ny=4096,
    gain_adu_per_electron=0.71,
    read_noise_electrons=4.0,
    bias_level_adu=205.0,
)

# Red frames store REDU in extension 1 and REDL in extension 2 (what the pipeline loader expects).
CHIPS: dict[Arm, tuple[Chip, ...]] = {Arm.BLUE: (BLUE_CHIP,), Arm.RED: (REDU_CHIP, REDL_CHIP)}

# Central wavelength (nm) → cross-disperser, for UVES's standard settings.
STANDARD_SETTINGS: dict[Arm, dict[int, str]] = {
    Arm.BLUE: {346: "CD#1", 390: "CD#2", 437: "CD#2"},
    Arm.RED: {520: "CD#3", 564: "CD#3", 580: "CD#3", 600: "CD#3", 760: "CD#4", 860: "CD#4"},
}


class Setting(BaseModel):
    """One instrument setting: arm, central wavelength and CCD binning."""

    model_config = ConfigDict(frozen=True)

    arm: Arm
    wlen_nm: int = Field(description="grating central wavelength", examples=[390])
    binx: int = Field(2, ge=1, le=2)
    biny: int = Field(2, ge=1, le=2)

    @property
    def cross_disperser(self) -> str:
        return STANDARD_SETTINGS[self.arm][self.wlen_nm]

    @property
    def chips(self) -> tuple[Chip, ...]:
        return CHIPS[self.arm]

    @property
    def binning(self) -> str:
        return f"{self.binx}x{self.biny}"

    @property
    def key(self) -> str:
        """Short unique name, e.g. `blue390_2x2`."""
        return f"{self.arm.value}{self.wlen_nm}_{self.binning}"


def parse_setting(text: str, binning: str) -> Setting:
    """`blue390`, `red580` or `390`/`580` (arm from the wavelength) plus `2x2` → a Setting."""
    binx, biny = parse_binning(binning)
    name = text.strip().lower()
    arm_text = "".join(ch for ch in name if ch.isalpha())
    digits = "".join(ch for ch in name if ch.isdigit())
    if not digits:
        raise ConfigError(f"setting {text!r} names no central wavelength (e.g. blue390, red580)")
    wlen = int(digits)
    arms = [arm for arm in Arm if wlen in STANDARD_SETTINGS[arm]]
    if arm_text:
        arms = [arm for arm in arms if arm.value == arm_text]
        if arm_text not in {arm.value for arm in Arm}:
            raise ConfigError(f"unknown UVES arm {arm_text!r} in setting {text!r}: use blue or red")
    if not arms:
        known = ", ".join(f"{arm.value}{w}" for arm in Arm for w in STANDARD_SETTINGS[arm])
        raise ConfigError(f"unknown UVES setting {text!r}; standard settings are {known}")
    return Setting(arm=arms[0], wlen_nm=wlen, binx=binx, biny=biny)


def parse_binning(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or any(part not in {"1", "2"} for part in parts):
        raise ConfigError(f"binning {text!r} is not supported: use 1x1 or 2x2")
    return int(parts[0]), int(parts[1])
