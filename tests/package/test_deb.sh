#!/usr/bin/env bash
# The .deb (issue 31), as a newcomer installs it: built by CPack from a
# Release build of SOURCE, then `apt-get install ./flotilla_*.deb` into a
# clean Debian 12 root made by mmdebstrap (its declared dependencies come
# from Debian's registry), where `flotilla --version`, `man flotilla`, the
# bash completion and `init --from-example launch` must work.
#
#   tests/package/test_deb.sh SOURCE_DIR
#
# FLOTILLA_PACKAGE_BUILD_TYPE picks the build (default Release). The suite
# passes None (no optimization): the same package, files and dependencies,
# without a second optimized compile of the whole tree in the 35 minutes.
set -euo pipefail
src=$(cd "${1:?usage: test_deb.sh SOURCE_DIR}" && pwd)
if [ "$(id -u)" != 0 ] || ! command -v mmdebstrap >/dev/null; then
  echo "skipped: needs root and mmdebstrap (scripts/install-deps.sh)"
  exit 77
fi
work=$(mktemp -d /tmp/flotilla-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The mirror this machine already uses (Debian's registry is the one network there is).
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

# A unity build: the same sources in a third of the compile time (and a
# check that no two files define the same file-local helper).
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE="${FLOTILLA_PACKAGE_BUILD_TYPE:-Release}" \
  -DCMAKE_UNITY_BUILD=ON -DFLOTILLA_TESTS=OFF >/dev/null
cmake --build "$work/build" >/dev/null
(cd "$work/build" && cpack -G DEB >/dev/null)
deb=$(echo "$work"/build/flotilla_*.deb)
echo "built $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
dpkg-deb -f "$deb" Depends | grep -q libssh2 || { echo "FAIL: libssh2 is not a declared dependency" >&2; exit 1; }

# man-db and bash-completion are what a user reads them with; the apt lists
# are kept so the package's own dependencies resolve inside.
mmdebstrap --quiet --variant=apt --include=man-db,bash-completion --skip=cleanup/apt/lists \
  bookworm "$work/root" "$mirror" >/dev/null
cp "$deb" "$work/root/tmp/"
# In a private mount namespace: /dev and /proc for the chroot, gone when it ends.
# shellcheck disable=SC2016 # expanded inside the chroot's shell
unshare -m --propagation private sh -c '
  mount --bind /dev "$1/dev" && mount -t proc proc "$1/proc" &&
  exec chroot "$1" /bin/bash -euo pipefail -c "
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q /tmp/$2 >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
    flotilla --version
    man -P cat flotilla 2>/dev/null | grep -q \"flotilla - deploy and patch fleets\" || { echo FAIL: man flotilla; exit 1; }
    man -P cat flotilla 2>/dev/null | grep -q \"flotilla doctor\" || { echo FAIL: the man page lacks doctor; exit 1; }
    . /usr/share/bash-completion/completions/flotilla
    COMP_WORDS=(flotilla -e prod dep); COMP_CWORD=3; _flotilla
    [ \"\${COMPREPLY[*]}\" = deploy ] || { echo \"FAIL: completion gave \${COMPREPLY[*]}\"; exit 1; }
    COMP_WORDS=(flotilla lock st); COMP_CWORD=2; _flotilla
    [ \"\${COMPREPLY[*]}\" = status ] || { echo \"FAIL: completion gave \${COMPREPLY[*]}\"; exit 1; }
    test -s /usr/share/zsh/vendor-completions/_flotilla
    mkdir /tmp/newproject && cd /tmp/newproject && flotilla init --from-example launch 2>/dev/null >/dev/null
    test -s flotilla.yaml && test -s inventories/prod.yaml
    echo ok: installed, man page, completions, example
  "' sh "$work/root" "$(basename "$deb")"
