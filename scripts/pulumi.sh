#!/usr/bin/env bash
# Runs the Pulumi CLI with this project's settings: `npm run pulumi -- <args>`.
#
# Finds or builds the engine (scripts/engine.sh), compiles the TypeScript program and provider
# into dist/ (incremental). For the `lab` stack only, it sets the lab's backend and passphrase.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The program and the dynamic provider run on the project's Node.js (scripts/node-env.sh).
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
bin_dir="$("$root/scripts/engine.sh")"

# The dynamic-provider host script ships inside @pulumi/pulumi. Beside our own build of the CLI it
# counts as bundled; found on PATH, the CLI would warn about an ambient plugin on every run.
dynamic_host="$root/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
if [[ "$bin_dir" == "$root/.engine/"* && -f "$dynamic_host" && "$(readlink "$bin_dir/pulumi-resource-pulumi-nodejs" 2>/dev/null)" != "$dynamic_host" ]]; then
  ln -sfn "$dynamic_host" "$bin_dir/pulumi-resource-pulumi-nodejs"
fi
export PATH="$bin_dir:$root/node_modules/@pulumi/pulumi:$root/node_modules/.bin:$PATH"

# The stack this command targets: --stack X, --stack=X, -s X, or `stack init|select|rm X`.
target_stack() {
  local previous="" before="" word
  for word in "$@"; do
    case "$previous" in --stack|-s) echo "$word"; return ;; esac
    case "$word" in --stack=*) echo "${word#--stack=}"; return ;; esac
    if [[ "$before" == stack && "$previous" =~ ^(init|select|rm)$ && "$word" != -* ]]; then echo "$word"; return; fi
    before="$previous" previous="$word"
  done
}

# Lab conveniences (a file backend in the checkout, the published passphrase, a private
# PULUMI_HOME) are for the built-in lab only: any other stack gets the user's own `pulumi login`,
# passphrase and PULUMI_HOME, so a production key is never encrypted with a published passphrase
# into a state file in this checkout.
if [[ "$(target_stack "$@")" == lab || -n "${MPTCP_PULUMI_LAB:-}" ]]; then
  export PULUMI_HOME="${PULUMI_HOME:-$root/.engine/home}"
  if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
    mkdir -p "$root/.pulumi-state"
    export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
  fi
  if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    export PULUMI_CONFIG_PASSPHRASE="mptcp-lab"
  fi
fi
# Our offline build of the CLI cannot reach the update server or plugin downloads; a CLI the user
# installed keeps its own behaviour.
if [[ "$bin_dir" == "$root/.engine/"* ]]; then
  export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
fi

# Compile only when a source is newer than the last build: a no-op tsc still costs ~1 s.
needs_build() {
  [[ ! -f "$root/dist/.build-stamp" ]] && return 0
  [[ -n "$(cd "$root" && find provider stacks scripts bench tsconfig.json package-lock.json -newer dist/.build-stamp -print -quit 2>/dev/null)" ]]
}
case "${1:-}" in
  version|--version|help|--help|plugin|login|logout|whoami|"") ;;
  *) if needs_build; then bash "$root/scripts/build.sh" && touch "$root/dist/.build-stamp"; fi ;;
esac

cd "$root"
exec pulumi "$@"
