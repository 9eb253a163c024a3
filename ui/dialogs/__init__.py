"""Dialogs opened from the main window: settings, about, add by address, rename."""
