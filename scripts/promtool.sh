#!/usr/bin/env bash
# Checks the gateway's Prometheus rules and Grafana dashboard:
#   1. promtool check rules deploy/prometheus/alerts.yml
#   2. promtool test rules deploy/prometheus/alerts_test.yml
#   3. the dashboard is valid JSON with panels and queries, and every
#      metric named in the dashboard and in the rules is listed in
#      docs/metrics.md (histogram _bucket/_sum/_count series count as
#      their histogram).
# Installs Debian's prometheus package (which ships promtool) when promtool
# is missing, running apt-get update once only if the package is unknown.
# Idempotent and non-interactive. Usage: bash scripts/promtool.sh
set -euo pipefail

cd "$(dirname "$0")/.."
RULES=deploy/prometheus/alerts.yml
TESTS=deploy/prometheus/alerts_test.yml
DASH=deploy/grafana/gateway-dashboard.json
CATALOGUE=docs/metrics.md

install_promtool() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "promtool.sh: promtool missing and not root (no sudo)" >&2; exit 1; }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show prometheus >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -qq
  fi
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a server on :9090 when an init system runs; this
  # script only needs the promtool binary.
}

command -v promtool >/dev/null || install_promtool
command -v promtool >/dev/null || { echo "promtool.sh: promtool still missing after install" >&2; exit 1; }
command -v python3 >/dev/null || { echo "promtool.sh: python3 is needed to check $DASH" >&2; exit 1; }

promtool check rules "$RULES"
# promtool resolves rule_files relative to the test file.
promtool test rules "$TESTS"

python3 - "$DASH" "$RULES" "$CATALOGUE" <<'PY'
import json, re, sys

dash_path, rules_path, cat_path = sys.argv[1:4]
name = re.compile(r'\b((?:gateway|go|process|promhttp)_[a-z0-9_]*[a-z0-9]|up)\b(?=\s*[{\[)\s,]|$)', re.M)
catalogue = set(re.findall(r'`((?:gateway|go|process|promhttp)_[a-z0-9_]+|up)`', open(cat_path).read()))
if not catalogue:
    sys.exit(f"{cat_path}: no metric names found")

def unknown(names):
    bad = set()
    for n in names:
        base = re.sub(r'_(bucket|sum|count)$', '', n)
        if n not in catalogue and base not in catalogue:
            bad.add(n)
    return bad

try:
    dash = json.load(open(dash_path))
except ValueError as e:
    sys.exit(f"{dash_path}: not valid JSON: {e}")
exprs = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            exprs.append(t.get("expr", ""))
        walk(p.get("panels", []))
walk(dash.get("panels", []))
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    exprs.append(q.get("query", "") if isinstance(q, dict) else (q or ""))
if not dash.get("title") or not dash.get("panels") or not any(exprs):
    sys.exit(f"{dash_path}: no title, panels or queries")

failed = False
used = {n for e in exprs for n in name.findall(e)}
for n in sorted(unknown(used)):
    print(f"{dash_path}: metric {n} is not in {cat_path}", file=sys.stderr); failed = True
rules = open(rules_path).read()
rule_names = set(name.findall(rules))
for n in sorted(unknown(rule_names)):
    print(f"{rules_path}: metric {n} is not in {cat_path}", file=sys.stderr); failed = True
if failed:
    sys.exit(1)
print(f"dashboard: {len(exprs)} queries, {len(used)} metrics; rules: {len(rule_names)} metrics; all in {cat_path}")
PY
