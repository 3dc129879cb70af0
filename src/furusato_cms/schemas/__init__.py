"""Colander schemas for the forms, one module per area."""
