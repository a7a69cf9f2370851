"""Use cases: load, call the aggregate, save; raise errors, never HTTP."""
