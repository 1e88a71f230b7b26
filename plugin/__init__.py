"""LipAlign inside DaVinci Resolve: read a timeline, measure its talking-head clips, write fixes back.

Everything here talks to Resolve only through the documented scripting API on a ``resolve`` object,
so the same code runs on the live object, the external ``scriptapp`` object, the bridge proxy and
the test fake.
"""
