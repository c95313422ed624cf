"""The project's one SQLAlchemy `MetaData`: every module that defines a table joins it.

Its own module so that table modules (tickets, deliveries, the console's) and the
schema builder (clinic_bot/db.py `create_schema`) import it without importing
each other.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
