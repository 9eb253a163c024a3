"""The bridge's HTTPS API (FastAPI), its pairing, tokens and TLS certificate."""

from device_bridge.api.app import create_app
from device_bridge.api.identity import BridgeIdentity

__all__ = ["BridgeIdentity", "create_app"]
