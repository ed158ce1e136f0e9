"""Subcommands of the ``spiking-bpdl`` command line (see :mod:`spiking_bpdl.cli`)."""
