"""The base of every error a user can fix (a bad file, key, name or value).

The command line prints such an error as one clear line and exits with status 2; anything else is
a bug and keeps its traceback.
"""


class UserError(Exception):
    """An error whose message tells the user what to change."""
