#!/bin/sh
# Regenerates the build system (configure, Makefile.in) from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
cp -f "$(ls -d /usr/share/automake-*/tap-driver.sh | head -n 1)" build-aux/tap-driver.sh
