"""The fetcher's boundaries: the raw-data archive and the shared file store."""
