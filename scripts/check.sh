#!/usr/bin/env bash
# What `npm test` checks before it runs the tests (and CI with it): the tests type-check with the
# code's own strictness (vitest itself does not check types), and every shell program passes
# the shellcheck linter: the repository's scripts, and the host library as programs assemble it
# (its files concatenated; test/provider/host/ also checks the programs the provider generates from it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
cd "$root"
say() { printf 'check: %s\n' "$*" >&2; }

say "type-checking the code and the tests (tsconfig.test.json)"
node node_modules/typescript/bin/tsc -p tsconfig.test.json

command -v shellcheck >/dev/null 2>&1 || { say "shellcheck is missing: apt-get install shellcheck (scripts/setup.sh installs it)"; exit 1; }
say "shellcheck: the repository's scripts"
shellcheck -x scripts/*.sh bench/*.sh test/lab/*.sh
say "shellcheck: the host library (provider/host/*.sh and the keepers' host.sh, as one program)"
cat provider/host/lib.sh provider/host/session.sh provider/host/ops.sh provider/keepers/*/host.sh provider/host/probe.sh provider/host/replay.sh provider/host/verify.sh | shellcheck -s sh -
