"""The HTTP API (and the schema behind it) against a real PostgreSQL: the in-process app, or a real server process where the test needs one."""
