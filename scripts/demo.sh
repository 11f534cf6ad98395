#!/usr/bin/env bash
# make demo: build the example's config git repo locally, render every region with cac build,
# show the output, then put one region's files in place with cac select.
set -euo pipefail
cd "$(dirname "$0")/.."
cac=$(pwd)/${1:-bin/cac}
demo=$(pwd)/.demo
rm -rf "$demo" && mkdir -p "$demo"
gitq() { git -c user.name=cac-demo -c user.email=demo@example.com -c init.defaultBranch=main "$@" >/dev/null 2>&1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "config repo: examples/config-repo committed on branch main of $demo/config"
cp -r examples/config-repo "$demo/config"
gitq -C "$demo/config" init && gitq -C "$demo/config" add -A && gitq -C "$demo/config" commit -m "regions sg-prod, us-prod, de-staging"
find "$demo/config" -name '*.yaml' -not -path '*/.git/*' | sed "s|$demo/config/|  |" | sort

step "code repo: examples/user-service on branch feature/login (the config repo has no such branch)"
cp -r examples/user-service "$demo/user-service"
gitq -C "$demo/user-service" init && gitq -C "$demo/user-service" add -A && gitq -C "$demo/user-service" commit -m "user service"
gitq -C "$demo/user-service" checkout -b feature/login
find "$demo/user-service" -name 'CacRegion_*' | sed "s|$demo/user-service/|  |" | sort

step "cac build --config-repo .demo/config --registry examples/registry.yaml (validates against the built-in standard, then renders)"
"$cac" -C "$demo/user-service" build --config-repo "$demo/config" --registry "$(pwd)/examples/registry.yaml"

step "output tree"
(cd "$demo/user-service/output/cac" && find . -type f | sort | sed 's|^\./|  |')

for region in sg-prod us-prod de-staging; do
  step "$region: conf/app.toml"
  sed -n '/\[mysql\]/,/^max_open/p' "$demo/user-service/output/cac/$region/conf/app.toml" | grep -v password
done

step "cac select --region us-prod (what the container runs before the service starts)"
CAC_REGION=us-prod "$cac" -C "$demo/user-service" select
grep -E '^(region|host)' "$demo/user-service/conf/app.toml"

step "a merge request: feature/login changes a template (code repo) and rotates a password (config repo)"
sed -i 's/^max_open_conns = /max_idle_conns = 4\nmax_open_conns = /' "$demo/user-service/conf/CacRegion_app.toml"
gitq -C "$demo/user-service" commit -am "idle connections"
gitq -C "$demo/config" checkout -b feature/login
sed -i 's/us-Pa55-please-rotate/us-Pa55-rotated-2026/' "$demo/config/user/us-prod.yaml"
gitq -C "$demo/config" commit -am "rotate the us-prod password"
gitq -C "$demo/config" checkout main
"$cac" -C "$demo/user-service" diff --base main --config-repo "$demo/config" --registry "$(pwd)/examples/registry.yaml" --regions us-prod,de-staging

step "a broken template: cac build reports every problem at once and exits 1"
printf 'ttl = ^cac<<redis.session.ttl>>\nbad = ^cac<redis.session.ip>>\n' > "$demo/user-service/conf/CacRegion_broken.ini"
set +e
"$cac" -C "$demo/user-service" build --config-repo "$demo/config" --registry "$(pwd)/examples/registry.yaml" --regions sg-prod
echo "exit code: $?"

step "invalid values: cac validate explains each finding (and never prints a secret)"
gitq -C "$demo/config" checkout feature/login   # the branch named like the code branch
sed -i 's/port: 3306/port: 70000/; s/ip: 10.8.1.21/ip: 10.8.1/' "$demo/config/user/sg-prod.yaml"
sed -i 's/physical: online/physical: production/' "$demo/config/_global/sg-prod.yaml"
gitq -C "$demo/config" commit -am "typos"
"$cac" -C "$demo/user-service" validate --config-repo "$demo/config" --registry "$(pwd)/examples/registry.yaml"
echo "exit code: $?"
