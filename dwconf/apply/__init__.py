"""Apply: run a plan's steps against an environment under its lock, journaled, then verify and
record."""
