#!/usr/bin/env bash
# Builds dist/: the TypeScript (tsconfig.json, or the package's tsconfig.build.json with
# --package) and the host programs beside the compiled modules that read them at run time
# (provider/**/*.sh -> dist/provider/**/). The one way the project is compiled.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
config=tsconfig.json
[[ ${1:-} == --package ]] && config=tsconfig.build.json
cd "$root"
# A module removed from provider/ must not live on in dist/ (and in the package).
rm -rf dist
node node_modules/typescript/bin/tsc -p "$config"
# The host programs, in the same folders as the modules that read them.
(cd provider && find . -name '*.sh' -exec cp --parents {} ../dist/provider/ \;)
