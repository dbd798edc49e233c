#!/usr/bin/env bash
# Install the Debian packages libvtd needs to build, test and run its demo.
# Idempotent: does nothing (and touches no package list) when everything is
# already installed.  Works as root; otherwise uses sudo when it exists.
set -euo pipefail

PKGS=(build-essential cmake ninja-build clang libcmocka-dev valgrind pkg-config acpica-tools libxml2-utils chromium)
PKGS+=(man-db groff-base python3) # install_test renders man/vtd.1; dmar_cli reads --json

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: not a Debian-like system (no dpkg/apt); install these yourself: ${PKGS[*]}" >&2
    exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup: all packages present (${PKGS[*]})"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        # Without a terminal nobody can type a password: fail instead of hanging.
        if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
    else
        echo "setup: missing packages (${missing[*]}), and not root and no sudo to install them" >&2
        exit 1
    fi
fi

echo "setup: installing ${missing[*]}"
# env: sudo does not pass the caller's environment on
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null
echo "setup: done"
