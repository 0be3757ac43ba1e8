#!/bin/sh
# release_export.sh DEPLOY_TO ID
# Writes releases/ID as a tar stream on stdout, for a controller whose
# artifact store lacks it (promote from an environment another controller
# built for). Only a release that was assembled and verified here (a real
# directory with its checksum list) is sent; the controller checks every
# byte against the artifact id before it keeps anything.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP
set -e
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: release_export.sh DEPLOY_TO ID"
deploy_to=$1
id=$2
case $id in
  *[!0-9a-f]* | "") die "$EXIT_USAGE" "not a release id: $id" ;;
esac
release="$deploy_to/releases/$id"
if [ -L "$release" ] || [ ! -d "$release" ] || [ ! -f "$deploy_to/.flotilla/manifests/$id.sums" ]; then
  die "$EXIT_MISSING" "release $id is not on this host"
fi
cd -- "$release"
# Files of a release are hard links into the store: send each as itself.
exec tar -cf - --numeric-owner --hard-dereference .
