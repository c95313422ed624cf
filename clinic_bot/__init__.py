"""Shared core of the clinic assistant: profile, settings, storage, notifications.

Used by the action server, the staff console and the channel connectors so that
every part reads configuration and writes tickets the same way.
"""
