"""The test kit: a fake of DaVinci Resolve's scripting objects and media makers for timeline tests.

It lives with the tests, outside the installed packages, and is importable as ``kit`` from the tests folder
(pytest puts it on the path; child processes get it through ``PYTHONPATH``).
"""
