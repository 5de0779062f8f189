#!/usr/bin/env bash
# Runs the Pulumi CLI with this project's settings: `npm run pulumi -- <args>`.
#
# Finds or builds the engine (scripts/engine.sh), compiles the TypeScript program and provider
# into dist/ (incremental), and sets offline defaults that the caller's environment can override.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$("$root/scripts/engine.sh")"

# The dynamic-provider host script ships inside @pulumi/pulumi. Beside our own build of the CLI it
# counts as bundled; found on PATH, the CLI would warn about an ambient plugin on every run.
dynamic_host="$root/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
if [[ "$bin_dir" == "$root/.engine/"* && -f "$dynamic_host" && ! -e "$bin_dir/pulumi-resource-pulumi-nodejs" ]]; then
  ln -s "$dynamic_host" "$bin_dir/pulumi-resource-pulumi-nodejs"
fi
export PATH="$bin_dir:$root/node_modules/@pulumi/pulumi:$root/node_modules/.bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$root/.engine/home}"
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  mkdir -p "$root/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
fi
# The lab's documented passphrase; real stacks set PULUMI_CONFIG_PASSPHRASE(_FILE) themselves.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="mptcp-lab"
fi

# Compile only when a source is newer than the last build: a no-op tsc still costs ~1 s.
needs_build() {
  [[ ! -f "$root/dist/.build-stamp" ]] && return 0
  [[ -n "$(cd "$root" && find provider stacks scripts bench tsconfig.json package-lock.json -newer dist/.build-stamp -print -quit 2>/dev/null)" ]]
}
case "${1:-}" in
  version|--version|help|--help|plugin|login|logout|whoami|"") ;;
  *) if needs_build; then (cd "$root" && node node_modules/typescript/bin/tsc -p tsconfig.json && touch dist/.build-stamp); fi ;;
esac

cd "$root"
exec pulumi "$@"
