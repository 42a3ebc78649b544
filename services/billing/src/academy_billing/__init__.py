"""Beauty Academy billing service."""
