#!/usr/bin/env bash
# Chorus vs Janus benchmark: one command, prints a table (see bench/README.md).
#   bench/run.sh [--quick] [--only a,b,c,d] [--duration S] [--no-janus] [--json FILE]
# Builds nothing: run it on a built tree (make), with Debian's janus installed.
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
