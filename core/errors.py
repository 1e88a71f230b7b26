"""The one exception type the command line turns into a one-line message and exit code 2."""

__all__ = ["MediaError"]


class MediaError(Exception):
    """Bad input: a missing file, something that is not media, or media without a needed stream.

    The message is a complete sentence for the user; it names the file.
    """
