"""Catalogs: names -> tables."""
