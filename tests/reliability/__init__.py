"""Reliability tests against the real running stack (marked `stack`): bad input on every
entry point, server crashes and restarts mid-conversation, concurrent messages from one
person. Run alone with `.venv/bin/python -m pytest tests/reliability` (about 3 minutes)."""
