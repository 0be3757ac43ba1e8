#!/bin/sh
# receive_directory.sh PARENT ID PRIVATE CHECK [COUNT]
# Receives a directory (a tar on stdin) as PARENT/ID, once: into a partial
# directory beside it, checked, then renamed into place. Nothing is written
# when PARENT/ID exists. PRIVATE=1: PARENT and ID are 0700 and the files
# 0600 (secrets); else 0755 and 0644. CHECK says what must hold:
#   digest: ID is the sha256 over the files' "SHA256  NAME" lines (config)
#   count:  exactly COUNT files arrived (secrets: their digest is keyed by
#           values the host must not print, so it cannot be recomputed)
# A refused directory exits EXIT_CORRUPT.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
set -e
[ $# -ge 4 ] || die "$EXIT_USAGE" "usage: receive_directory.sh PARENT ID PRIVATE CHECK [COUNT]"
parent=$1
id=$2
private=$3
check=$4
count=${5:-}
if [ "$private" = 1 ]; then umask 077; else umask 022; fi
if [ -d "$parent/$id" ]; then
  cat >/dev/null
  exit 0
fi
mkdir -p "$parent"
[ "$private" = 1 ] && chmod 700 "$parent"
partial="$parent/.$id.partial.$$"
trap 'rm -rf "$partial"' EXIT
mkdir "$partial"
tar -xf - -C "$partial" --no-same-owner
case $check in
  digest)
    got=$(cd "$partial" && { [ -z "$(ls -A)" ] || sha256sum -- *; } | LC_ALL=C sort -k2 |
      sha256sum | cut -c1-64)
    [ "$got" = "$id" ] || die "$EXIT_CORRUPT" "config $id corrupt in transit"
    ;;
  count)
    [ "$(find "$partial" -mindepth 1 -maxdepth 1 | wc -l)" = "$count" ] ||
      die "$EXIT_CORRUPT" "secrets $id incomplete in transit"
    ;;
  *) die "$EXIT_USAGE" "receive_directory.sh: unknown check $check" ;;
esac
[ "$private" = 1 ] && find "$partial" -type f -exec chmod 600 {} +
mv -T -- "$partial" "$parent/$id"
