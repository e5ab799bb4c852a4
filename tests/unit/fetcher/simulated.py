"""Archive listings of simulated UVES nights, from the night simulator's headers (no pixels rendered),
and calibration-store entries, for association tests and the fetcher benchmark."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime

from shared.rawarchive.fitsmeta import flatten_header
from shared.rawarchive.models import CalibInfo, RawFileInfo
from tools.archive.settings import UVES_SETTING_KEYS
from tools.simulator.headers import primary_header
from tools.simulator.plan import night_plan, schedule

REGISTERED_AT = datetime(2024, 1, 1, tzinfo=UTC)


PLAN_CHOICES = ("seed", "binning", "settings", "arms", "targets")


def night_listing(night: date, preset: str = "small", skip_kinds: Iterable[str] = (), **choices: object) -> list[RawFileInfo]:
    """What `GET /api/raw` would list for a simulated night; `skip_kinds` drops frame kinds (e.g. "flat").

    `choices` are `night_plan` arguments or NightPlan fields (`biases=12`)."""
    skipped = set(skip_kinds)
    plan = night_plan(night, preset=preset, **{k: v for k, v in choices.items() if k in PLAN_CHOICES})  # type: ignore[arg-type]
    plan = plan.model_copy(update={k: v for k, v in choices.items() if k not in PLAN_CHOICES})
    return [
        raw_info(flatten_header(primary_header(item.exposure)), night)
        for item in schedule(plan)
        if item.exposure.kind.value not in skipped
    ]


def raw_info(header: dict, night: date, error: str | None = None) -> RawFileInfo:
    arcfile = str(header.get("ARCFILE", "UVES.unknown.fits"))
    digest = hashlib.sha256(arcfile.encode()).hexdigest()
    return RawFileInfo(arcfile=arcfile, instrument="UVES", night=night, size_bytes=2880, md5=digest[:32],
                       sha256=digest, header=header, error=error)


def master(pro_catg: str, mjd_obs: float, like: RawFileInfo, name: str | None = None,
           status: str = "current", **setting_overrides: object) -> CalibInfo:
    """A certified master whose setting is that of the raw frame `like` (with overrides)."""
    setting = {key: like.header[key] for key in UVES_SETTING_KEYS if key in like.header}
    setting.update(setting_overrides)
    name = name or f"UVES_{pro_catg}_{mjd_obs:.3f}"
    digest = hashlib.sha256(name.encode()).hexdigest()
    return CalibInfo(name=name, filename=f"{name}.fits", instrument="UVES", pro_catg=pro_catg, mjd_obs=mjd_obs,
                     setting=setting, size_bytes=2880, md5=digest[:32], sha256=digest, status=status,  # type: ignore[arg-type]
                     registered_at=REGISTERED_AT)


def line_refer_table() -> CalibInfo:
    digest = hashlib.sha256(b"LINE_REFER_TABLE").hexdigest()
    return CalibInfo(name="UVES_LINE_REFER_TABLE", filename="UVES_LINE_REFER_TABLE.fits", instrument="UVES",
                     pro_catg="LINE_REFER_TABLE", size_bytes=2880, md5=digest[:32], sha256=digest,
                     status="current", registered_at=REGISTERED_AT)
