"""Thin views: parse and validate input, call a service, render. One module per audience/area."""
