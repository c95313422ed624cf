"""Rule-based red-flag detection (see detector.py, patterns.yml and component.py)."""
