"""Channel tests restart bots on one store with `start_bot` (tests/conftest.py)."""
