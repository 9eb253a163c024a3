"""The Earmuff bridge: the Pi-side service (`earmuff-bridge`), and the simulated home for laptops and tests."""

__version__ = "0.1.0"
