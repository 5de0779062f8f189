#!/usr/bin/env bash
# Runs a command with the project's Node.js first on PATH (see scripts/node-env.sh):
# `bash scripts/with-node.sh vitest run`.
set -euo pipefail
# shellcheck source=scripts/node-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
exec "$@"
