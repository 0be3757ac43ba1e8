#!/bin/sh
# assemble.sh DEPLOY_TO STORE ID
# Step 2 of a push: builds releases/ID from the content store, as the
# manifest on stdin says (one entry per line, "TYPE MODE SHA256 PATH"; a
# link's target on the line after it). Files are hard-linked from the store,
# executables copied so modes never leak between releases. Every file is
# checked against the manifest before the release is renamed into place.
# Idempotent; never touches `current`.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
set -e
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: assemble.sh DEPLOY_TO STORE ID"
deploy_to=$1
store=$2
id=$3

final="$deploy_to/releases/$id"
sums_file="$deploy_to/.flotilla/manifests/$id.sums"
# Assembled before (a real directory with its checksum list): done. A link
# or a leftover without its list is not trusted: it is built again.
if [ -d "$final" ] && [ ! -L "$final" ] && [ -f "$sums_file" ]; then
  cat >/dev/null
  exit 0
fi
if [ -L "$final" ] || [ -e "$final" ]; then rm -rf -- "$final"; fi
mkdir -p "$deploy_to/releases"
partial="$deploy_to/releases/.$id.partial.$$"
sums="$partial.sums"
trap 'rm -rf "$partial" "$sums" "$partial.want" "$partial.unique"' EXIT
mkdir "$partial"
: >"$sums"

# Sorted paths put every directory before its contents, so one process
# per entry suffices (a fork per file is what costs on a busy host).
umask 022
while IFS=' ' read -r type mode sha path; do
  case $type in
    d)
      mkdir -- "$partial/$path"
      [ "$mode" = 755 ] || chmod "$mode" -- "$partial/$path"
      ;;
    f)
      if [ "$mode" = 644 ]; then
        ln -- "$store/$sha" "$partial/$path" 2>/dev/null || cp -- "$store/$sha" "$partial/$path"
      else
        cp -- "$store/$sha" "$partial/$path"
        chmod "$mode" -- "$partial/$path"
      fi
      printf '%s  %s\n' "$sha" "$path" >>"$sums"
      ;;
    l)
      IFS= read -r target
      ln -s -- "$target" "$partial/$path"
      ;;
    *) die "$EXIT_USAGE" "bad manifest line" ;;
  esac
done

# Every file against the manifest, hashes compared in manifest order.
cut -c1-64 "$sums" >"$partial.want"
if ! (cd "$partial" && cut -c67- "$sums" | sed 's|^|./|' | tr '\n' '\0' |
  hash_listed | cut -c1-64 | cmp -s - "$partial.want"); then
  # A damaged store file (bit rot, a hand edit) is removed, so the next
  # survey finds it missing and the next deploy sends it again.
  damaged=0
  sort -u "$partial.want" >"$partial.unique"
  while IFS= read -r sha; do
    got=$(hash_files "$store/$sha" | cut -c1-64)
    if [ "$got" != "$sha" ]; then
      rm -f -- "${store:?}/$sha"
      damaged=$((damaged + 1))
    fi
  done <"$partial.unique"
  die "$EXIT_CORRUPT" "release $id failed verification: $damaged damaged file(s) removed from the store; the next deploy sends them again"
fi
mkdir -p "$deploy_to/.flotilla/manifests"
mv -f -- "$sums" "$sums_file"
mv -T -- "$partial" "$final"
