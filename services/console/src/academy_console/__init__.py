"""Beauty Academy operators' web console (issue 12)."""
