"""The ``lakehouse`` command line."""
