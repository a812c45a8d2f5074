"""The base of errors whose message is written for the user (what is wrong and how to fix it): the
command line prints such an error in one line and exits with status 2. Imports nothing, so the command
line can catch errors of modules it has not imported (and so not load TensorFlow to catch them)."""


class UserError(Exception):
    """An error whose message names the problem and the fix."""


class ArchiveError(RuntimeError):
    """A dataset archive (Omniglot's, Lake's runs) is missing, unreadable or does not have the official
    structure."""
