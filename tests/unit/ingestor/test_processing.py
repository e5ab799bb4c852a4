from astropy.io import fits

from services.ingestor.processing import Processing, processing_record


def product(path, **cards: str):
    header = fits.Header()
    for key, value in cards.items():
        header[f"HIERARCH ESO PRO REC1 {key.replace('_', ' ')}"] = value
    fits.PrimaryHDU(header=header).writeto(path)
    return path


def test_recipe_pipeline_and_parameters_come_from_the_pipeline_products(tmp_path) -> None:
    bare = product(tmp_path / "bare.fits")
    merged = product(tmp_path / "merged.fits", ID="uves_obs_scired", PIPE_ID="uves/6.1.8",
                     PARAM1_NAME="reduce.extract.method", PARAM1_VALUE="optimal",
                     PARAM2_NAME="reduce.ffmethod", PARAM2_VALUE="extract")
    assert processing_record([bare, merged]) == Processing(
        "uves_obs_scired", "uves/6.1.8", {"reduce.extract.method": "optimal", "reduce.ffmethod": "extract"})


def test_nothing_recorded_gives_an_empty_record(tmp_path) -> None:
    assert processing_record([product(tmp_path / "bare.fits")]) == Processing()
