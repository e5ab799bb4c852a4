"""Boundaries of the ingestor: archive database, calibration store."""
