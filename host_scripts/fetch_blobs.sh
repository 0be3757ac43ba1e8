#!/bin/sh
# fetch_blobs.sh STORE REGISTRY REPOSITORY
# Step 1 of a push through an OCI registry: the host pulls the blobs its
# content store STORE lacks straight from REGISTRY (https://host:port),
# repository REPOSITORY, with curl. Stdin: the Authorization header value
# (or an empty line), the registry's private CA as base64 (or an empty
# line), then one sha256 per line. Credentials stay off the command line:
# they reach curl through a config file only this user can read, removed
# on exit. Each blob is checked against its digest before it enters the
# store; nothing else is trusted from the registry.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
set -e
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: fetch_blobs.sh STORE REGISTRY REPOSITORY"
store=$1
registry=$2
repository=$3
# Values that become curl config text: nothing that could end a quoted
# string or start another option.
case $registry in
  https://* | http://*) ;;
  *) die "$EXIT_USAGE" "registry must be an http(s) URL" ;;
esac
case $registry$repository in
  *[!A-Za-z0-9._:/@%\[\]-]*) die "$EXIT_USAGE" "registry or repository has a character not allowed in one" ;;
esac
command -v curl >/dev/null 2>&1 || die "$EXIT_FETCH" "curl is not installed on this host: it pulls artifacts from the registry"

mkdir -p "$store"
incoming="$store/.incoming.$$"
trap 'rm -rf "$incoming"' EXIT
(umask 077 && mkdir "$incoming")
config="$incoming/.curl"
(umask 077 && : >"$config")
IFS= read -r authorization || die "$EXIT_USAGE" "no authorization line on stdin"
IFS= read -r ca || die "$EXIT_USAGE" "no CA line on stdin"
case $authorization in
  *[!A-Za-z0-9\ +/=._~:-]*) die "$EXIT_USAGE" "the authorization has a character not allowed in one" ;;
esac
[ -z "$authorization" ] || printf 'header = "Authorization: %s"\n' "$authorization" >>"$config"
if [ -n "$ca" ]; then
  printf '%s' "$ca" | base64 -d >"$incoming/.ca.pem" || die "$EXIT_USAGE" "the CA is not base64"
  printf 'cacert = "%s"\n' "$incoming/.ca.pem" >>"$config"
fi
case $registry in
  https://*) printf 'proto = "=https"\nproto-redir = "=https"\n' >>"$config" ;;
esac

wanted=0
while IFS= read -r digest; do
  case $digest in
    '') continue ;;
    *[!0-9a-f]*) die "$EXIT_USAGE" "not a sha256: $digest" ;;
  esac
  [ ${#digest} -eq 64 ] || die "$EXIT_USAGE" "not a sha256: $digest"
  [ -f "$store/$digest" ] && continue # another change brought it meanwhile
  printf 'url = "%s/v2/%s/blobs/sha256:%s"\noutput = "%s/%s"\n' \
    "$registry" "$repository" "$digest" "$incoming" "$digest" >>"$config"
  wanted=$((wanted + 1))
done
[ "$wanted" -gt 0 ] || exit 0

phase "pulling $wanted blob(s) from the registry"
# --location follows a redirect to storage; curl sends the Authorization
# header to the registry's own host only.
if ! err=$(curl --config "$config" --fail --silent --show-error --location --max-redirs 3 \
  --connect-timeout 10 --retry 2 --parallel --parallel-max 4 2>&1); then
  die "$EXIT_FETCH" "could not pull from $registry: $(printf '%s' "$err" | head -n 1)"
fi
cd "$incoming"
got=0
for name in *; do
  [ -f "$name" ] || continue
  got=$((got + 1))
done
[ "$got" -eq "$wanted" ] || die "$EXIT_FETCH" "pulled $got of $wanted blob(s) from $registry"
hash_files ./[0-9a-f]* | while read -r sum name; do
  name=${name#\*}
  name=${name#./}
  [ "$sum" = "$name" ] || die "$EXIT_CORRUPT" "blob $name from the registry does not match its digest: refused"
done
find . -maxdepth 1 -type f -name '[0-9a-f]*' -exec mv -f -t "$store" -- {} +
