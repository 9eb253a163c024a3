"""Dialogs of the Deletions page's legal erasure requests."""
