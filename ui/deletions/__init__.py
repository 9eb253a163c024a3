"""The Deletions page's parts: voice deletions played by a bridge, vendor-portal reminders, and their dialogs."""
