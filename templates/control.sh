#!/usr/bin/env bash
# cac control step: at service start, put this region's rendered config over the originals, then
# start the service.
#
#   CAC_REGION=sg-prod ./control.sh ./bin/server --port 8080
#
# The region comes from $CAC_REGION (set it in the deployment of each region). The rendered files
# come from `cac build`, packaged with the service: $CAC_OUT, else output/cac/$CAC_USN, else
# output/cac or the only service output in it (where cac build writes them). Uses `cac select`
# when a cac binary is available ($CAC_BIN or PATH); otherwise copies with the shell, each file
# written aside and renamed into place. Any arguments are exec'd as the service afterwards.
set -euo pipefail

region=${CAC_REGION:-}
log() { echo "control.sh: $*" >&2; }

find_out() {
  if [ -n "${CAC_OUT:-}" ]; then echo "$CAC_OUT"; return; fi
  if [ -n "${CAC_USN:-}" ]; then echo "output/cac/$CAC_USN"; return; fi
  if [ -f output/cac/cac-report.json ]; then echo output/cac; return; fi
  local found=(output/cac/*/cac-report.json)
  if [ ${#found[@]} -eq 1 ] && [ -f "${found[0]}" ]; then dirname "${found[0]}"; return; fi
  echo output/cac
}
out=$(find_out)

if [ -z "$region" ]; then
  log "error: CAC_REGION is not set; set it to one of: $(ls "$out" 2>/dev/null | grep -v '\.json$' | tr '\n' ' ')"
  exit 2
fi

cac=${CAC_BIN:-$(command -v cac || true)}
if [ -n "$cac" ]; then
  "$cac" select --region "$region" --out "$out"
else
  if [ ! -d "$out/$region" ]; then
    log "error: region $region was not built: $out has $(ls "$out" 2>/dev/null | grep -v '\.json$' | tr '\n' ' ')"
    exit 2
  fi
  n=0
  while IFS= read -r -d '' f; do
    rel=${f#"$out/$region/"}
    mkdir -p "$(dirname "$rel")"
    tmp=$(mktemp "$(dirname "$rel")/.cac-select-XXXXXX")
    cp -p "$f" "$tmp" && mv -f "$tmp" "$rel"
    n=$((n + 1))
  done < <(find "$out/$region" -type f -print0)
  if [ "$n" -eq 1 ]; then files="1 file"; else files="$n files"; fi
  log "selected region $region: $files"
fi

if [ $# -gt 0 ]; then
  exec "$@"
fi
