"""Custom Rasa graph components (NLU and policies) for the clinic assistant."""
