"""Qt item models over the app's frozen snapshots."""
