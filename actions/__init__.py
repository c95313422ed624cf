"""Custom actions for the clinic assistant, one module per concern."""
