"""`python -m device_bridge` runs the `earmuff-bridge` command line."""

from device_bridge.cli import main

raise SystemExit(main())
