"""SDP spectra written by the processor's converter (services/processor/science.py, from small
synthetic merged spectra) pass Phase 3 and are catalogued, one product per arm."""

from __future__ import annotations

from pathlib import Path

from services.ingestor.service import IngestorContext, on_certified
from shared.archive.catalogue import get_product
from shared.contracts import FinalState, Product, ProductKind
from tests.integration.ingestor.conftest import certified
from tests.unit.processor.test_sdp import ARCFILES, convert, science_ab, spectrum_of


async def test_the_converters_blue_and_red_products_are_ingested(ctx: IngestorContext, tmp_path: Path) -> None:
    for arm, spectra in (("BLUE", {"BLUE": spectrum_of("BLUE")}),
                         ("RED", {"REDL": spectrum_of("REDL"), "REDU": spectrum_of("REDU", seed=2)})):
        folder = tmp_path / arm
        folder.mkdir()
        [sdp] = convert(folder, arm, spectra, ARCFILES)
        products = [
            Product(name=sdp.path.name, pro_catg="SCIENCE.SPECTRUM", kind=ProductKind.IDP,
                    file=await ctx.store.put(sdp.path)),
            Product(name=sdp.preview_path.name, pro_catg="ANCILLARY.PREVIEW", kind=ProductKind.ANCILLARY,
                    file=await ctx.store.put(sdp.preview_path)),
        ]
        event = certified(science_ab(arm, ARCFILES), products)

        [ingested] = await on_certified(event, ctx)

        assert ingested.state is FinalState.INGESTED, ingested.reason
        async with ctx.db.session() as session:
            product = await get_product(session, ingested.product_ids[0])
        assert (product.arm, product.target_name, product.snr > 40) == (arm, "HD 22049", True)
        assert [f.kind for f in product.files] == ["PREVIEW"]
