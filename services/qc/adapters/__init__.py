"""The QC service's boundaries: product files in the store, the QC1 database."""
