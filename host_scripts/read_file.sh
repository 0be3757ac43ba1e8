#!/bin/sh
# read_file.sh PATH
# Prints the file; fails if it cannot be read.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || die "$EXIT_USAGE" "usage: read_file.sh PATH"
exec cat -- "$1"
