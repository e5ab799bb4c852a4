"""The raw-data archive: an HTTP stand-in for the observatory archive (`server`) and the client services use (`client`)."""
