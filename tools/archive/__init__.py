"""The local raw-data archive: a folder of raw frames and master calibrations served over HTTP."""
