#!/usr/bin/env bash
# Builds the sarama driver in GOPATH mode against Debian's sarama
# (golang-github-shopify-sarama-dev). Usage: build.sh [output], default bin/brook-sarama.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
output="${1:-$here/bin/brook-sarama}"
go="${GO:-/usr/lib/go-1.19/bin/go}"
version="$(dpkg-query -W -f='${Version}' golang-github-shopify-sarama-dev 2>/dev/null)" ||
  version=unknown
mkdir -p "$(dirname "$output")"
cd "$here"
# Build beside the target and rename, so a test running the old binary never sees half a file.
# Debian's DataDog/zstd calls a deprecated zstd function; its warning is noise here.
CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -Wno-deprecated-declarations" \
  GO111MODULE=off GOPATH="$here/.gopath:/usr/share/gocode" GOFLAGS='' \
  "$go" build -o "$output.tmp.$$" -ldflags "-X main.saramaVersion=$version" .
mv -f "$output.tmp.$$" "$output"
