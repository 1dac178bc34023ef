#!/usr/bin/env bash
# Installs the system packages Kiln's build and tests need, when they are missing.
# Idempotent and quiet when everything is there; says what it installs. The README's
# commands and .ci/run call it: this is the one list.
#
#   cmake ninja-build libclang1-14 libclang-common-14-dev  unicorn-engine-sys (cmake C build + bindgen)
#   g++                                                    C/C++ parts of -sys crates
#   llvm                                                   llvm-mc / llvm-objdump: the independent
#                                                          decoders the encoder and ELF tests check against
#   binutils                                               readelf, for the ELF object test
set -euo pipefail
packages=(g++ llvm cmake ninja-build libclang1-14 libclang-common-14-dev binutils)
# Extra packages a script needs beyond these (e.g. scripts/coverage.sh: llvm-22).
packages+=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "kiln setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "kiln setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
