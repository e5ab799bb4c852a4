"""The portal's boundaries: archive files on disk, API tokens, the message bus."""
