#!/usr/bin/env bash
# Installs the Debian 12 packages flotilla needs to build, test and demo.
# Does nothing when they are all present; uses apt-get (as root, or via sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format python3 git
  libssh2-1-dev libcli11-dev libyaml-cpp-dev libfmt-dev libgit2-dev nlohmann-json3-dev
  doctest-dev libarchive-dev libzstd-dev libssl-dev libexpected-dev libcpp-httplib-dev
  openssh-server openssh-client iproute2 procps util-linux
  ansible pssh zstd curl shellcheck docker-registry apache2-utils
  dpkg-dev mmdebstrap man-db zsh haproxy socat prometheus python3-prometheus-client wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages and no root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
