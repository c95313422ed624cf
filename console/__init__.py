"""Staff console: escalation queue, transcripts, handoff replies, privacy tools.

A Sanic app (``python -m console.app``) that reads the conversations straight
from Rasa's SQL tracker store (the ``events`` table Rasa writes) and the
handoff tickets from the project database. See docs/console.md.
"""

import os

# Rasa's tracker-store module triggers SQLAlchemy's 2.0 migration banner on import.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
