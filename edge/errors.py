"""Error hierarchy for input the user controls. CLIs turn these into one-line messages."""


class CrackbotError(Exception):
    """Base of every error that is the user's input, not a bug."""


class ConfigError(CrackbotError):
    """A firmware config that does not validate; the message names the key and YAML line."""


class ModelError(CrackbotError):
    """A model bundle that is missing, corrupt, or disagrees with its model.json."""


class CameraError(CrackbotError):
    """A camera backend that cannot open or deliver frames."""


class DataError(CrackbotError):
    """A data folder that is missing, empty or in neither folder convention."""


class OutboxError(CrackbotError):
    """The disk outbox cannot be opened (a read-only or full disk, a file that is not SQLite)."""
