#!/bin/sh
# receive.sh STORE GZIPPED
# Step 1 of a push: a tar bundle on stdin (gzipped when GZIPPED is 1) holds
# files named by their sha256. Each is checked against its name, then moved
# into the content store STORE; nothing enters the store unverified.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
set -e
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: receive.sh STORE GZIPPED"
store=$1
gzipped=$2

mkdir -p "$store"
incoming="$store/.incoming.$$"
trap 'rm -rf "$incoming"' EXIT
mkdir "$incoming"
if [ "$gzipped" = 1 ]; then
  tar -xzf - -C "$incoming"
else
  tar -xf - -C "$incoming"
fi
cd "$incoming"
if [ -n "$(ls -A)" ]; then
  hash_files ./* | while read -r sum name; do
    name=${name#\*}
    name=${name#./}
    [ "$sum" = "$name" ] || die "$EXIT_CORRUPT" "corrupt in transit: $name"
  done
  find . -maxdepth 1 -type f -exec mv -f -t "$store" -- {} +
fi
