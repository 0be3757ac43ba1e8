#!/bin/sh
# upload.sh PATH SHA256 MODE
# Writes stdin to PATH: parents created, a temp file beside it, its sha256
# checked against SHA256 (exit EXIT_CORRUPT if the bytes differ), mode MODE
# (octal) set, then renamed over PATH: a reader sees the old file or the
# new one.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
set -e
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: upload.sh PATH SHA256 MODE"
path=$1
want=$2
mode=$3
umask 077
mkdir -p -- "$(dirname -- "$path")"
tmp="$path.flotilla-upload.$$"
trap 'rm -f -- "$tmp"' EXIT
cat >"$tmp"
got=$(sha256sum -- "$tmp")
got=${got%% *}
[ "$got" = "$want" ] || die "$EXIT_CORRUPT" "upload to $path: checksum mismatch"
chmod "$mode" -- "$tmp"
mv -f -- "$tmp" "$path"
