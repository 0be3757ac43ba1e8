#!/bin/sh
# Builds one service into dist/ (flotilla runs this in a clean checkout of
# the commit being deployed, with FLOTILLA_COMMIT set):
#   ./build.sh reward|payment|gm|game
set -eu
service=$1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target "$service"
mkdir -p dist/bin
cp "build/$service" dist/bin/
cp VERSION dist/
