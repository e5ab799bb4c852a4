"""The certifier's boundaries: the archive database (ledger, review queue)."""
