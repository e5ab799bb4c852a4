"""The portal's routes, one module per area."""
