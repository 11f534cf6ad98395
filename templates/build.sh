#!/usr/bin/env bash
# cac build step: get the pinned cac binary, then render every region's config.
#
#   CAC_VERSION=v0.1.0 ./build.sh --config-repo https://git.example.com/platform/config.git --usn user
#
# The binary comes from, in order: $CAC_BIN; the cache ($CAC_BIN_DIR/<version>/cac, kept by the CI
# cache between jobs); `go install` of the pinned version into that cache. When the install fails
# (network down), any cached cac (another version) or a cac on PATH is used, with a warning: the
# offline fallback. Arguments are passed to `cac build`; its exit code is this script's
# (0 ok, 1 findings, 2 usage, 3 remote).
set -euo pipefail

version=${CAC_VERSION:-latest}
module=${CAC_MODULE:-github.com/cacproj/cac/cmd/cac}
cache=${CAC_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cac/bin}

log() { echo "build.sh: $*" >&2; }

find_cac() {
  if [ -n "${CAC_BIN:-}" ]; then
    echo "$CAC_BIN"; return
  fi
  if [ "$version" != latest ] && [ -x "$cache/$version/cac" ]; then
    echo "$cache/$version/cac"; return
  fi
  mkdir -p "$cache/$version"
  if GOBIN="$cache/$version" GOFLAGS=-trimpath go install "$module@$version" >&2 2>"$cache/install.log"; then
    echo "$cache/$version/cac"; return
  fi
  log "warning: could not install cac $version ($(tail -n 1 "$cache/install.log" 2>/dev/null)); looking for a cached cac"
  local fallback
  fallback=$(ls -t "$cache"/*/cac 2>/dev/null | head -n 1 || true)
  if [ -z "$fallback" ]; then
    fallback=$(command -v cac || true)
  fi
  if [ -z "$fallback" ]; then
    log "error: no cac binary: install failed and none is cached in $cache or on PATH"
    exit 2
  fi
  log "warning: OFFLINE FALLBACK: using $fallback ($("$fallback" --version 2>/dev/null || echo unknown version)) instead of $version"
  echo "$fallback"
}

cac=$(find_cac)
log "using $("$cac" --version)"
exec "$cac" build "$@"
