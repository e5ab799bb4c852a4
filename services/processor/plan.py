"""From an association block to a job plan: which recipe, which files with which tags, which
parameters. Every way an AB can be unrunnable ends here as a DataError with a clear reason."""

from __future__ import annotations

from collections.abc import Mapping

from services.processor.jobs import JobInput
from services.processor.recipes import RECIPES_FILE, RecipeCatalogue, arm_of, parameter_set_for
from services.processor.runner import JobPlan, StagedFrame
from shared.contracts import AssociationBlock, CalibrationRole, StagedFile
from shared.errors import DataError
from shared.instruments import rules_for
from shared.instruments.association import pipeline_plugin


def plan_job(ab: AssociationBlock, catalogues: Mapping[str, RecipeCatalogue], default_timeout_seconds: float) -> JobPlan:
    recipe = rules_for(catalogues, ab.instrument_mode, RECIPES_FILE).recipe(ab.recipe)
    calibrations = [c for c in ab.calibrations if c.role is CalibrationRole.MCALIB]
    refused = recipe.refused_tags([raw.category for raw in ab.raw_files], [c.pro_catg for c in calibrations])
    if refused:
        raise DataError(f"{ab.recipe} does not accept {', '.join(refused)}")
    tagged = [(raw.arcfile, raw.staged, raw.category) for raw in ab.raw_files]
    tagged += [(c.file, c.staged, c.pro_catg) for c in calibrations]
    return JobPlan(
        recipe_name=ab.recipe,
        recipe=recipe,
        pipeline=pipeline_plugin(ab.instrument_mode),
        arm=_single_arm([raw.category for raw in ab.raw_files]),
        frames=[StagedFrame(file=staged_file(name, staged), tag=tag) for name, staged, tag in tagged],
        inputs=[JobInput(sha256=staged_file(name, staged).sha256, tag=tag) for name, staged, tag in tagged],
        parameters=recipe.esorex_parameters(parameter_set_for(ab)),
        timeout_seconds=recipe.timeout_seconds or default_timeout_seconds,
    )


def staged_file(name: str, staged: StagedFile | None) -> StagedFile:
    if staged is None:
        raise DataError(f"{name} was never staged")
    return staged


def _single_arm(raw_tags: list[str]) -> str:
    arms = sorted({arm_of(tag) for tag in raw_tags})
    if len(arms) != 1:
        raise DataError(f"raw frames of several arms in one AB: {', '.join(arms)}")
    return arms[0]
