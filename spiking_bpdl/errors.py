"""Exceptions that the command line turns into one-line messages with exit code 2."""

__all__ = ["SpikingBPDLError", "ConfigError", "DataError", "CheckpointError"]


class SpikingBPDLError(Exception):
    """Base class for errors caused by user input (parameters, files, definitions).

    The CLI prints ``spiking-bpdl: error: <message>`` and exits with status 2 for these;
    anything else is a bug and keeps its traceback.
    """


class ConfigError(SpikingBPDLError, ValueError):
    """A parameter or a network definition is invalid."""


class DataError(SpikingBPDLError, FileNotFoundError):
    """A dataset file is missing, corrupt or has the wrong checksum."""


class CheckpointError(SpikingBPDLError):
    """A checkpoint is missing, corrupt or belongs to another configuration."""
