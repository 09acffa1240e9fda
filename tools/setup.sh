#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Chorus, builds it in build/ and starts it with
# its embedded defaults (demo pages on http://localhost:8088, Janus API on ws://:8188).
# Run as root (apt-get). Extra arguments go to chorus, e.g. --log-level verb.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
mapfile -t pkgs < <(grep -v '^#' tools/build-packages.txt | grep -v '^$')
apt-get update -q
apt-get install -y -q "${pkgs[@]}"
[ -x configure ] || ./autogen.sh
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc)")
exec build/chorus "$@"
