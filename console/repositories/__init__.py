"""Data access: conversations (Rasa's tracker store), the unanswered-questions
report, erasure/retention and the audit log."""
