"""Custom Rasa input/output channels for the clinic assistant.

Registered in credentials.yml by module path, e.g. ``channels.whatsapp.WhatsAppInput``.
"""
