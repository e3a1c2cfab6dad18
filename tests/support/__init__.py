"""Test support: a real PostgreSQL, real server processes, the spec's schemas."""
