"""The Opt-outs page's pieces (the page itself is ui/pages/optouts.py; the data is app.optouts, Qt-free).

setting_card (one vendor setting with its items), local_card and enforcer (settings the bridge enforces),
account_view (one account's checklist), account_dialog, changed_it (the guided "I changed it" flow),
history_dialog, signals (keyring results and due re-checks as Qt signals), pdf (the report through
QPdfWriter), style (status colours, badges, dates in words).
"""
