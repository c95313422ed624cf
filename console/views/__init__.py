"""Sanic blueprints: one module per screen."""
