#!/usr/bin/env bash
# make bench: cac against its peers on the same generated fleet, measured side by side in one run.
# Each row runs cac and its peer alternately BENCH_RUNS times (default 5): one pair is one cac run
# and one peer run back to back, and the row reports the median of the pairs' ratios peer/cac
# (> 1: cac is faster) beside the median times. Needs only Go and git; gomplate is built from the
# Go module proxy into .bench/ (never the repo). The table goes to stdout and .bench/results.md.
#
#   BENCH_SERVICES=300 BENCH_REGIONS=16 BENCH_RUNS=5 BENCH_PUBLISH=10 BENCH_GO=1 ./scripts/bench.sh bin/cac
#
# The defaults (100 services × 16 regions) finish in a few minutes on 2 CPUs; BENCH_SERVICES=300
# is the full-size fleet of the README's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
cac=$(pwd)/${1:-bin/cac}
services=${BENCH_SERVICES:-100}
regions=${BENCH_REGIONS:-16}
runs=${BENCH_RUNS:-5}
BENCH_PUBLISH=${BENCH_PUBLISH:-10}
BENCH_GO=${BENCH_GO:-1}
bench=$(pwd)/.bench
tools=$bench/bin   # kept between runs: gomplate takes a while to build
work=$bench/work   # regenerated every run
gomplate_version=v4.3.3
gomplate=$tools/gomplate-$gomplate_version # its --version says 0.0.0: the name tells the version
rm -rf "$work" && mkdir -p "$work" "$tools"
gitq() { git -c user.name=cac-bench -c user.email=bench@example.com -c init.defaultBranch=main -c gc.auto=0 "$@" >/dev/null; }
say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

rows=()   # markdown table rows
notes=()  # lines printed under the table

# now_ms prints a monotonic-enough wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# median reads numbers, one a line, and prints the median.
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

fail() { say "$1 failed:"; cat "$work/stderr" >&2; exit 1; }

# compare ROW NOTE CAC_FN PEER_FN runs CAC_FN i and PEER_FN i as pairs, back to back, for
# i = 1..runs (output discarded, a failure aborts the bench) and adds a row with both median times
# and the median of the pairs' ratios peer/cac.
compare() {
  local row=$1 note=$2 cac_fn=$3 peer_fn=$4 i t0 tc tp c=() p=() r=()
  say "$row"
  for ((i = 1; i <= runs; i++)); do
    t0=$(now_ms); "$cac_fn" "$i" >/dev/null 2>"$work/stderr" || fail "$row"; tc=$(($(now_ms) - t0))
    t0=$(now_ms); "$peer_fn" "$i" >/dev/null 2>"$work/stderr" || fail "$row"; tp=$(($(now_ms) - t0))
    c+=("$tc") p+=("$tp") r+=("$(awk -v c="$tc" -v p="$tp" 'BEGIN {printf "%.4f", p / (c > 0 ? c : 1)}')")
  done
  add_row "$row" "$(printf '%s\n' "${c[@]}" | median)" "$(printf '%s\n' "${p[@]}" | median)" "$note" "$(printf '%s\n' "${r[@]}" | median)"
}

# add_row ROW CAC_MS PEER_MS NOTE [RATIO]; an empty PEER_MS leaves the peer and the ratio blank;
# without RATIO the ratio is PEER_MS/CAC_MS.
add_row() {
  rows+=("$(awk -v row="$1" -v c="$2" -v p="$3" -v note="$4" -v r="${5:-}" 'BEGIN {
    if (p == "") { printf "| %s | %.3f s | – | – | %s |", row, c / 1000, note; exit }
    if (r == "") r = p / c
    printf "| %s | %.3f s | %.3f s | %.2f× | %s |", row, c / 1000, p / 1000, r, note }')")
}

skip_row() { say "$1: skipped"; rows+=("| $1 | – | – | – | skipped: $2 |"); }

say "tools: cac helpers and gomplate $gomplate_version (into .bench/bin)"
go build -o "$tools/" ./internal/benchgen ./internal/benchdiff ./internal/fleet/fleetgen ./internal/gitserver/gitserve
# build_gomplate builds gomplate in a throw-away module: the proxy refuses inet.af/netaddr, so it
# is replaced by its mirror (same code).
build_gomplate() {
  local mod=$bench/gomplate-mod
  rm -rf "$mod" && mkdir -p "$mod"
  printf 'module benchpeers\n\ngo 1.24\n\nreplace inet.af/netaddr => github.com/inetaf/netaddr v0.0.0-20230525184311-b8eac61e914a\n' >"$mod/go.mod"
  (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go get "github.com/hairyhenderson/gomplate/v4/cmd/gomplate@$gomplate_version" &&
    GOWORK=off GOFLAGS=-mod=mod go build -o "$gomplate" github.com/hairyhenderson/gomplate/v4/cmd/gomplate)
}
gomplate_error=""
if [[ ! -x $gomplate ]]; then
  build_gomplate >"$bench/gomplate-build.log" 2>&1 || gomplate_error="gomplate $gomplate_version could not be built: $(tail -1 "$bench/gomplate-build.log")"
fi

say "fleet: $services services × $regions regions × 10 templates, config repo committed as a bare git repo"
"$tools/benchgen" -out "$work" -services "$services" -regions "$regions"
gitq -C "$work/config" init && gitq -C "$work/config" add -A && gitq -C "$work/config" commit -m "fleet config"
gitq clone -q --bare --no-local "$work/config" "$work/repos/config.git" # packed, as on a git server
rm -rf "$work/config/.git" # a plain directory: cac reads it in place, without fetching
gitq -C "$work/code" init && gitq -C "$work/code" add -A && gitq -C "$work/code" commit -m "fleet code"
usns=$(cd "$work/code" && ls -d svc-*)
build_flags=(--branch main --standard "$work/standard.yaml")

# a. one service × all regions vs gomplate, one process per region: cac with the config repo as a
# local directory (no fetch), fetched from the bare repo without a cache (a shallow fetch into
# memory, reading only the service's files and _global/), and from a warm --cache.
cac_one() { "$cac" -C "$work/code/svc-0000" build "${build_flags[@]}" --config-repo "$work/config" --usn svc-0000 --out "$work/a/cac-$1"; }
cac_one_fetch() { "$cac" -C "$work/code/svc-0000" build "${build_flags[@]}" --config-repo "file://$work/repos/config.git" --usn svc-0000 --out "$work/a/fetch-$1"; }
cac_one_cached() { "$cac" -C "$work/code/svc-0000" build "${build_flags[@]}" --config-repo "file://$work/repos/config.git" --cache "$work/a/cache" --usn svc-0000 --out "$work/a/cached-$1"; }
gomplate_one() {
  local v
  for v in "$work"/gomplate/values/*.json; do
    "$gomplate" --context "values=$v" --input-dir "$work/gomplate/templates" --output-dir "$work/a/gomplate-$1/$(basename "$v" .json)"
  done
}
one="1 service (10 templates × $regions regions)"
if [[ -n $gomplate_error ]]; then
  skip_row "build $one" "$gomplate_error"
else
  compare "build $one, config as a local dir" "no fetch; validate + render + write; gomplate: $regions processes" cac_one gomplate_one
  compare "build $one, no cache" "config fetched over file:// ($(find "$work/config" -type f | wc -l) files), nothing checked out" cac_one_fetch gomplate_one
  cac_one_cached 0 >/dev/null 2>&1 # warm the cache
  compare "build $one, --cache" "cache up to date: a fetch that brings nothing" cac_one_cached gomplate_one
  for d in cac fetch cached; do rm "$work/a/$d-1/cac-report.json"; done
  if diff -r "$work/a/cac-1" "$work/a/gomplate-1" >/dev/null && diff -r "$work/a/fetch-1" "$work/a/gomplate-1" >/dev/null &&
    diff -r "$work/a/cached-1" "$work/a/gomplate-1" >/dev/null; then
    notes+=("- build 1 service: cac (all three rows) and gomplate wrote byte-identical files.")
  else
    notes+=("- build 1 service: **cac and gomplate outputs differ** (diff -r $work/a/cac-1 $work/a/gomplate-1).")
  fi
fi

# b. every service of the fleet in one process (cac build --all), vs copying its output tree.
cac_fleet() { "$cac" -C "$work/code" build --all "${build_flags[@]}" --config-repo "file://$work/repos/config.git" --out "$work/b/cac-$1"; }
cp_fleet() { cp -r "$work/b/cac-$1" "$work/b/cp-$1"; }
compare "fleet render ($services services, $((services * regions * 10)) files)" "cac build --all (one fetch, $(nproc) workers) vs cp -r of its output tree (the floor)" cac_fleet cp_fleet
if [[ -x /usr/bin/time ]]; then # peak memory of one more run (GNU time, Debian package "time")
  /usr/bin/time -f '%M' -o "$work/rss" "$cac" -C "$work/code" build --all "${build_flags[@]}" --config-repo "file://$work/repos/config.git" \
    --out "$work/b/rss" >/dev/null 2>"$work/stderr" || fail "fleet peak RSS"
  notes+=("- fleet render: peak RSS of cac build --all: $(($(tail -1 "$work/rss") / 1024)) MiB (/usr/bin/time -f %M, one more run).")
else
  notes+=("- fleet render: peak RSS not measured (no /usr/bin/time).")
fi
rendered=$work/rendered # kept for publish
mv "$work/b/cac-1" "$rendered" && rm -rf "$work/b"

# c. config fetch: cac validate (shallow go-git fetch + load + validate one service) vs git clone.
"$tools/gitserve" -root "$work/repos" >"$work/gitserve.url" &
gitserve_pid=$!
trap 'kill $gitserve_pid 2>/dev/null || true' EXIT
until [[ -s $work/gitserve.url ]]; do sleep 0.1; done
http_url=$(cat "$work/gitserve.url")/config.git
files=$(find "$work/config" -type f | wc -l)
for url in "file://$work/repos/config.git" "$http_url"; do
  scheme=${url%%://*}
  cac_fetch() { "$cac" -C "$work/code/svc-0000" validate "${build_flags[@]}" --config-repo "$url" --usn svc-0000; }
  git_fetch() { git clone -q --depth 1 --single-branch --branch main "$url" "$work/c/$scheme-$1"; }
  compare "config fetch, $scheme ($files files)" "cac validate (fetch + load + validate 1 service) vs git clone --depth 1 --single-branch" cac_fetch git_fetch
done
rm -rf "$work/c"

# d. validate a fleet: the Go benchmark (one iteration = 300 services × 16 regions), goal < 1 s.
say "validate a fleet (go test -bench BenchmarkValidateFleet)"
validate_ns=$(go test -run XXX -bench 'BenchmarkValidateFleet$' -benchtime 3x ./pkg/standard | awk '/^BenchmarkValidateFleet/ {print $3}')
if [[ -n $validate_ns ]]; then
  add_row "validate fleet (300 services × 16 regions)" "$((validate_ns / 1000000))" 1000 "Go benchmark BenchmarkValidateFleet, mean of 3 iterations; peer column: the 1 s goal"
else
  skip_row "validate fleet (300 services × 16 regions)" "BenchmarkValidateFleet is not in pkg/standard on this branch"
fi

# e. diff of two fleet renders, 1% of the files changed.
"$tools/fleetgen" -out "$work/e" -services "$services" -regions "$regions" -files 10 -changed 1 >/dev/null
cac_diff() { "$tools/benchdiff" "$work/e/base" "$work/e/head"; }
git_diff() { git diff --no-index --no-color "$work/e/base" "$work/e/head" || [[ $? == 1 ]]; }
compare "diff 2 fleet renders ($((services * regions * 10)) files, 1% changed)" "internal/benchdiff (pkg/diff: read, diff, unified text) vs git diff --no-index" cac_diff git_diff

# f. publish: cac publish of the first $publish services (rendered above, --no-build), one after the
# other, each cloning, committing and pushing; vs one git clone, cp of the same rendered files to
# envs/<region>/<usn>/, git add -A, commit and push. Each run starts from a fresh GitOps repo.
publish=$((BENCH_PUBLISH < services ? BENCH_PUBLISH : services))
new_gitops() {
  rm -rf "$work/f/$1.git" "$work/f/seed" && gitq init --bare -b main "$work/f/$1.git"
  gitq clone -q "$work/f/$1.git" "$work/f/seed" && echo "fleet" >"$work/f/seed/README.md"
  gitq -C "$work/f/seed" add -A && gitq -C "$work/f/seed" commit -m "seed" && gitq -C "$work/f/seed" push -q origin HEAD:main
}
cac_publish() {
  local usn
  new_gitops "cac-$1"
  for usn in $(printf '%s\n' $usns | head -n "$publish"); do
    "$cac" -C "$work/code/$usn" publish "${build_flags[@]}" --no-build --out "$rendered/$usn" --usn "$usn" --config-repo "$work/config" --gitops-repo "file://$work/f/cac-$1.git"
  done
}
git_publish() {
  local usn region clone=$work/f/clone-$1
  new_gitops "git-$1"
  gitq clone -q "file://$work/f/git-$1.git" "$clone"
  for usn in $(printf '%s\n' $usns | head -n "$publish"); do
    for region in $(cd "$rendered/$usn" && ls -d region-*); do
      mkdir -p "$clone/envs/$region" && cp -r "$rendered/$usn/$region" "$clone/envs/$region/$usn"
    done
  done
  gitq -C "$clone" add -A && gitq -C "$clone" commit -m "publish" && gitq -C "$clone" push -q origin HEAD:main
}
if "$cac" publish --help >/dev/null 2>&1; then
  compare "publish $publish services ($((publish * regions)) region dirs)" "cac publish --no-build per service (clone, ConfigMap, commit, push each) vs one git clone + cp + add + commit + push" cac_publish git_publish
else
  skip_row "publish a fleet" "cac publish is not a command of this build of cac"
fi

# ---- begin publish-loop rows (branch publoop) ---------------------------------------------------
# publish_loop: $publish services published one after another, each `cac publish` its own process
# (a pipeline), with --cache, into a fresh GitOps repo served by gitserve over smart HTTP; vs a git
# CLI loop doing the same work on a persistent clone (fetch, write the service's files, add, commit,
# push). Then one service's publish into the full repo (one new region dir per region), with the warm cache and
# with a cold one. One run each: the loop is long and its per-service cost is what matters.
publish_loop() {
  local publish=$((BENCH_PUBLISH < services ? BENCH_PUBLISH : services)) usn region t0 c p one_warm one_cold url=$(cat "$work/gitserve.url") clone=$work/pl/clone
  mkdir -p "$work/pl"
  for side in cac git; do
    rm -rf "$work/repos/pl-$side.git" "$work/pl/seed" && gitq init --bare -b main "$work/repos/pl-$side.git"
    gitq clone -q "$work/repos/pl-$side.git" "$work/pl/seed" && echo "fleet" >"$work/pl/seed/README.md"
    gitq -C "$work/pl/seed" add -A && gitq -C "$work/pl/seed" commit -m "seed" && gitq -C "$work/pl/seed" push -q origin HEAD:main
  done
  say "publish loop: $publish services, one cac publish process each, --cache"
  t0=$(now_ms)
  for usn in $(printf '%s\n' $usns | head -n "$publish"); do
    "$cac" -C "$work/code/$usn" publish "${build_flags[@]}" --no-build --out "$rendered/$usn" --usn "$usn" --config-repo "$work/config" \
      --gitops-repo "$url/pl-cac.git" --cache "$work/pl/cache" >/dev/null 2>"$work/stderr" || fail "publish loop (cac $usn)"
  done
  c=$(($(now_ms) - t0))
  say "publish loop: $publish services, git fetch + cp + add + commit + push each"
  gitq clone -q "$url/pl-git.git" "$clone"
  t0=$(now_ms)
  for usn in $(printf '%s\n' $usns | head -n "$publish"); do
    { gitq -C "$clone" fetch -q origin && gitq -C "$clone" merge -q --ff-only origin/main &&
      for region in $(cd "$rendered/$usn" && ls -d region-*); do
        mkdir -p "$clone/envs/$region" && rm -rf "$clone/envs/$region/$usn" && cp -r "$rendered/$usn/$region" "$clone/envs/$region/$usn"
      done &&
      gitq -C "$clone" add -A && gitq -C "$clone" commit -q -m "publish $usn" && gitq -C "$clone" push -q origin HEAD:main; } 2>"$work/stderr" || fail "publish loop (git $usn)"
  done
  p=$(($(now_ms) - t0))
  add_row "publish loop: $publish services, one process each ($((publish * regions)) region dirs)" "$c" "$p" \
    "cac publish --no-build --cache per service (fetch, edit changed paths, push new objects) vs git fetch + cp + add + commit + push on a persistent clone; smart HTTP; 1 run"
  usn=$(printf '%s\n' $usns | head -n 1)
  for cache in warm cold; do
    [[ $cache == cold ]] && rm -rf "$work/pl/cache"
    t0=$(now_ms)
    "$cac" -C "$work/code/$usn" publish "${build_flags[@]}" --no-build --out "$rendered/$usn" --usn "$usn" --config-repo "$work/config" \
      --gitops-repo "$url/pl-cac.git" --cache "$work/pl/cache" --path-template "apps-$cache/{region}/{usn}" >/dev/null 2>"$work/stderr" || fail "publish one ($cache)"
    [[ $cache == warm ]] && one_warm=$(($(now_ms) - t0)) || one_cold=$(($(now_ms) - t0))
  done
  add_row "publish 1 service into the full repo ($publish × $regions), warm cache" "$one_warm" 2000 "$regions new region dirs; peer column: the 2 s goal"
  add_row "publish 1 service into the full repo, cold cache" "$one_cold" "" "the first publish on a runner: fetches the whole tip"
}
if "$cac" publish --help 2>/dev/null | grep -q -- '--cache'; then
  publish_loop
else
  skip_row "publish loop" "cac publish has no --cache in this build"
fi
# ---- end publish-loop rows ----------------------------------------------------------------------

# g. every Go benchmark once, as a summary.
go_bench="(skipped: BENCH_GO=0)"
if [[ $BENCH_GO != 0 ]]; then
  say "Go benchmarks (go test -bench . -benchtime 1x -benchmem ./pkg/...)"
  go_bench=$(CAC_BENCH_SERVICES=$services CAC_BENCH_REGIONS=$regions go test -run XXX -bench . -benchtime 1x -benchmem ./pkg/... | grep -E '^Benchmark' || true)
fi

{
  echo "## cac vs peers ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "machine: $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo "? GiB") memory, $(go version | cut -d' ' -f3-), $(git --version), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
  echo "command: BENCH_SERVICES=$services BENCH_REGIONS=$regions BENCH_RUNS=$runs BENCH_PUBLISH=$BENCH_PUBLISH make bench"
  echo "fleet: $services services × $regions regions × 10 templates (40 lines, 8 placeholders each); $runs pairs per row (cac, then its peer); ratio = median of the pairs' peer/cac."
  echo "Timings on this VM vary ~2× from run to run: only the ratios measured side by side in one run are meaningful."
  echo
  echo "| row | cac (median) | peer (median) | ratio (median of peer/cac) | notes |"
  echo "| --- | ---: | ---: | ---: | --- |"
  printf '%s\n' "${rows[@]}"
  [[ ${#notes[@]} == 0 ]] || { echo; printf '%s\n' "${notes[@]}"; }
  echo
  echo "Go benchmarks, one iteration each (go test -run XXX -bench . -benchtime 1x -benchmem ./pkg/...):"
  echo
  echo '```'
  echo "$go_bench"
  echo '```'
} | tee "$bench/results.md"
