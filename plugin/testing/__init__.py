"""Test support that must be importable from child processes too (the Resolve fake)."""
