"""Vendor opt-out settings: the sourced catalog, the user's accounts and confirmations, re-check reminders,
history with undo, and the report. No Qt here (the page is ui/pages/optouts.py).

Modules: catalog (loading and checking resources/optouts/), schema (the JSON Schema subset it is checked
against), models (what the user told us), tracker (accounts, confirmations, history, undo, status),
recheck (when to look again), status (per account and per speaker), speakers (what can be linked),
local (what a bridge can enforce), reminders (what is due, and when to say so), report (Markdown and
HTML), account_secrets (e-mail addresses in the keyring).
"""
