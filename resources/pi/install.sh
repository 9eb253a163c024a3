#!/usr/bin/env bash
# Install (or update) the Earmuff bridge on a Raspberry Pi, from a copy of the Earmuff repository:
#
#   sudo ./resources/pi/install.sh              install or update, then (re)start the service
#   sudo ./resources/pi/install.sh --uninstall  stop and remove the service, program and user; keep data and config
#   sudo ./resources/pi/install.sh --purge      the same, and also delete /var/lib/earmuff-bridge and /etc/earmuff-bridge
#
# What it does (and nothing else):
#   apt-get install python3-venv python3-lgpio nftables libportaudio2 espeak-ng   (lgpio: gpiozero's pin library on
#                                                   Raspberry Pi OS Bookworm; PortAudio: a [microphone] and the
#                                                   loudspeaker of voice deletions; espeak-ng speaks their phrases)
#   system user earmuff-bridge, member of gpio and audio   (no login shell, no home)
#   /opt/earmuff-bridge/venv                        python3 -m venv --system-site-packages (sees Debian's lgpio)
#   pip install '<this repository>[bridge]'         FastAPI, uvicorn, cryptography, gpiozero, zeroconf; never Qt
#   /usr/local/bin/earmuff-bridge                   a link to the venv's command (for `sudo earmuff-bridge pair-code`)
#   /etc/earmuff-bridge/bridge.toml                 from bridge.example.toml, only if there is none yet
#   /etc/systemd/system/earmuff-bridge.service      enabled and (re)started
set -euo pipefail

PREFIX=/opt/earmuff-bridge
VENV=$PREFIX/venv
CONFIG_DIR=/etc/earmuff-bridge
CONFIG=$CONFIG_DIR/bridge.toml
DATA_DIR=/var/lib/earmuff-bridge
UNIT=/etc/systemd/system/earmuff-bridge.service
LINK=/usr/local/bin/earmuff-bridge
SERVICE_USER=earmuff-bridge

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

say() { printf 'earmuff-bridge install: %s\n' "$*"; }
die() { printf 'earmuff-bridge install: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run it as root: sudo $0 $*"
command -v systemctl >/dev/null 2>&1 || die "systemd is needed (Raspberry Pi OS / Debian 12)"

uninstall() {
    say "stopping and removing the service"
    systemctl disable --now earmuff-bridge.service 2>/dev/null || true
    rm -f "$UNIT" "$LINK"
    systemctl daemon-reload
    rm -rf "$PREFIX"
    if id "$SERVICE_USER" >/dev/null 2>&1; then
        userdel "$SERVICE_USER" || say "could not remove the user $SERVICE_USER (remove it by hand: userdel $SERVICE_USER)"
    fi
    if [ "${1:-}" = purge ]; then
        rm -rf "$DATA_DIR" "$CONFIG_DIR"
        say "removed; data ($DATA_DIR) and config ($CONFIG_DIR) deleted"
    else
        say "removed; kept the data ($DATA_DIR: tokens, certificate, mute state) and the config ($CONFIG_DIR)"
    fi
    say "the relays are released now: relay and power speakers stay muted until you rewire them"
}

case "${1:-}" in
    --uninstall) uninstall; exit 0 ;;
    --purge) uninstall purge; exit 0 ;;
    "") ;;
    *) die "unknown option $1 (use no option, --uninstall or --purge)" ;;
esac

[ -f "$repo/pyproject.toml" ] && [ -d "$repo/device_bridge" ] ||
    die "run it from a copy of the Earmuff repository (expected $repo/pyproject.toml)"

say "installing system packages: python3-venv python3-lgpio nftables libportaudio2 espeak-ng"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv python3-lgpio nftables \
    libportaudio2 espeak-ng ||
    die "apt-get install failed (python3-lgpio comes from Raspberry Pi OS's archive)"

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed (Raspberry Pi OS Bookworm has it)"

if ! getent group gpio >/dev/null; then
    say "there is no 'gpio' group (not Raspberry Pi OS?): creating it; give it access to /dev/gpiochip* with a udev rule"
    groupadd --system gpio
fi
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    say "creating the system user $SERVICE_USER"
    useradd --system --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
        --user-group --groups gpio,audio "$SERVICE_USER"
else
    usermod --append --groups gpio,audio "$SERVICE_USER"
fi

say "installing the bridge into $VENV (takes a few minutes on a Pi Zero 2 W)"
install -d -m 0755 "$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# A copy of the checkout, so pip's build never writes into your working tree.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
tar -C "$repo" --exclude=.git --exclude=.venv --exclude='*.egg-info' --exclude=build -cf - . | tar -C "$build" -xf -
"$VENV/bin/python" -m pip install --quiet --upgrade "$build[bridge]"
"$VENV/bin/python" -c 'import lgpio, gpiozero, fastapi, uvicorn, cryptography' ||
    die "the venv cannot import its packages (see above)"
install -m 0644 "$repo/README.md" "$PREFIX/README.md"   # the "Raspberry Pi bridge" section is the manual
ln -sf "$VENV/bin/earmuff-bridge" "$LINK"

install -d -m 0755 "$CONFIG_DIR"
if [ ! -f "$CONFIG" ]; then
    install -m 0644 "$here/bridge.example.toml" "$CONFIG"
    new_config=1
    say "wrote the example config to $CONFIG: edit it to match your wiring"
else
    new_config=0
    say "kept your config $CONFIG (the example is $here/bridge.example.toml)"
fi
"$VENV/bin/python" - "$CONFIG" <<'PY' || die "the config $CONFIG is invalid (the message above names the key); fix it and run this again"
import sys
from pathlib import Path
from device_bridge.config import ConfigError, load_config
try:
    load_config(Path(sys.argv[1]))
except ConfigError as err:
    sys.exit(f"earmuff-bridge install: {err}")
PY

install -m 0644 "$here/earmuff-bridge.service" "$UNIT"
systemctl daemon-reload
systemctl enable earmuff-bridge.service >/dev/null
systemctl restart earmuff-bridge.service
say "started. Status: systemctl status earmuff-bridge    Log: journalctl -u earmuff-bridge -f"
say "pairing code: sudo earmuff-bridge pair-code"
if [ "$new_config" = 1 ]; then
    say "next: edit $CONFIG (name, time zone, speakers and pins), then: sudo systemctl restart earmuff-bridge"
fi
