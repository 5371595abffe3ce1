"""Writes of the learning app, one module per area (re-exported here)."""
