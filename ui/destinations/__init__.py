"""A speaker's destinations and blocks: the dialog opened from the Bridges page, its table, chart and blocks panel,
and the new-organisation notifier."""
