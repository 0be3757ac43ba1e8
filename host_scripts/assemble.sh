#!/bin/sh
# assemble.sh DEPLOY_TO STORE ID [GZIPPED BUNDLE_BYTES]
# A release reaches the host, in one round trip:
# 1. With GZIPPED and BUNDLE_BYTES, the first BUNDLE_BYTES bytes of stdin are
#    a tar (gzipped when GZIPPED is 1) of the files the host lacks, each
#    named by its sha256; each is checked against its name before it enters
#    the store.
# 2. The rest of stdin is the manifest ("TYPE MODE SHA256 PATH", one entry
#    per line; a link's target on the line after it). releases/ID is built
#    from the store: files hard-linked, executables copied so modes never
#    leak between releases. Every file is checked against the manifest
#    before the release is renamed into place; a file received in step 1
#    and linked was checked a moment ago, so it is not hashed twice.
# Idempotent; never touches `current`.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
set -e
[ $# -eq 3 ] || [ $# -eq 5 ] || die "$EXIT_USAGE" "usage: assemble.sh DEPLOY_TO STORE ID [GZIPPED BUNDLE_BYTES]"
deploy_to=$1
store=$2
id=$3
gzipped=${4:-0}
bundle_bytes=${5:-0}
case $bundle_bytes in '' | *[!0-9]*) die "$EXIT_USAGE" "BUNDLE_BYTES must be a number" ;; esac

final="$deploy_to/releases/$id"
sums_file="$deploy_to/.flotilla/manifests/$id.sums"
# Assembled before (a real directory with its checksum list): done. A link
# or a leftover without its list is not trusted: it is built again.
if [ -d "$final" ] && [ ! -L "$final" ] && [ -f "$sums_file" ]; then
  cat >/dev/null
  exit 0
fi
if [ -L "$final" ] || [ -e "$final" ]; then rm -rf -- "$final"; fi
mkdir -p "$deploy_to/releases" "$store"
incoming="$store/.incoming.$$"
partial="$deploy_to/releases/.$id.partial.$$"
sums="$partial.sums"
check="$partial.check"
trap 'rm -rf "$incoming" "$partial" "$sums" "$check" "$partial.want" "$partial.unique" "$partial.err"' EXIT

# Step 1. tar stops at its end blocks; what is left of the bundle is read
# away, so the manifest starts where it should.
if [ "$bundle_bytes" -gt 0 ]; then
  mkdir "$incoming"
  z=''
  [ "$gzipped" = 1 ] && z=z
  head -c "$bundle_bytes" | {
    s=0
    tar "-x${z}f" - -C "$incoming" || s=$?
    cat >/dev/null
    exit "$s"
  }
  if [ -n "$(ls -A "$incoming")" ]; then
    (cd "$incoming" && hash_files ./*) | while read -r sum name; do
      name=${name#\*}
      name=${name#./}
      [ "$sum" = "$name" ] || die "$EXIT_CORRUPT" "corrupt in transit: $name"
    done
  fi
fi

mkdir "$partial"
: >"$sums"
: >"$check"

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
      from="$store/$sha"
      [ -f "$incoming/$sha" ] && from="$incoming/$sha"
      if [ "$mode" = 644 ] && ln -- "$from" "$partial/$path" 2>/dev/null; then
        [ "$from" = "$incoming/$sha" ] || printf '%s  %s\n' "$sha" "$path" >>"$check"
      else
        cp -- "$from" "$partial/$path"
        [ "$mode" = 644 ] || chmod "$mode" -- "$partial/$path"
        printf '%s  %s\n' "$sha" "$path" >>"$check"
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

# What came in is kept even if the release fails below: a retry need not
# send it again.
if [ -d "$incoming" ]; then
  find "$incoming" -maxdepth 1 -type f -exec mv -f -t "$store" -- {} +
fi

# Every file not checked in step 1 against the manifest, hashes compared
# in manifest order.
cut -c1-64 "$check" >"$partial.want"
if ! (cd "$partial" && cut -c67- "$check" | sed 's|^|./|' | tr '\n' '\0' |
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
if ! mv -T -- "$partial" "$final" 2>"$partial.err"; then
  # Another writer of the same deploy_to (hosts sharing it over NFS) placed
  # this release first: its id is its content, so theirs is ours.
  if [ -d "$final" ] && [ ! -L "$final" ] && [ -f "$sums_file" ]; then exit 0; fi
  cat "$partial.err" >&2
  exit 1
fi
