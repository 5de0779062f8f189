#!/usr/bin/env bash
# Finds or builds the Pulumi engine offline, then prints the folder that holds `pulumi`.
#
# Order: the user's own `pulumi` on PATH (no older than the SDK, with its Node.js language host),
# else an existing build in .engine/bin (when its stamp matches), else a build from Go modules,
# once, into the git-ignored .engine/ folder, with progress on stderr.
# Usage: scripts/engine.sh [--rebuild]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine_dir="${MPTCP_PULUMI_ENGINE_DIR:-$root/.engine}"
bin_dir="$engine_dir/bin"
# The SDK's version in package.json is the one home of this fact: engine/go.mod pins the same
# pkg/v3 and sdk/v3, and a CLI older than the SDK is not supported.
pulumi_version="$(sed -n 's/^ *"@pulumi\/pulumi": "\([0-9.]*\)",*$/\1/p' "$root/package.json")"
[[ "$pulumi_version" =~ ^3\.([0-9]+)\.[0-9]+$ ]] || { printf 'engine: cannot read the @pulumi/pulumi version from package.json\n' >&2; exit 1; }
min_minor="${BASH_REMATCH[1]}"
# Contents only: a path in the stamp would rebuild the engine for every clone or worktree.
stamp="pulumi=$pulumi_version langhost=$(cat "$root/engine/langhost/main.go" "$root/engine/go.sum" | sha256sum | cut -c1-16)"

say() { printf 'engine: %s\n' "$*" >&2; }

if [[ "${1:-}" == "--rebuild" ]]; then rm -rf "$bin_dir"; fi

# A Pulumi CLI the user installed (no older than the SDK, with its Node.js language host) is used as it is.
if [[ -z "${MPTCP_PULUMI_FORCE_BUILD:-}" ]] && command -v pulumi >/dev/null 2>&1 \
   && command -v pulumi-language-nodejs >/dev/null 2>&1; then
  found="$(pulumi version 2>/dev/null || true)"
  if [[ "$found" =~ ^v3\.([0-9]+)\. ]] && ((BASH_REMATCH[1] >= min_minor)); then
    dirname "$(command -v pulumi)"; exit 0
  fi
  say "ignoring pulumi ${found:-(no version)} on PATH: this project needs v3.$min_minor.0 or newer within v3"
fi

if [[ -x "$bin_dir/pulumi" && -x "$bin_dir/pulumi-language-nodejs" && "$(cat "$bin_dir/.stamp" 2>/dev/null)" == "$stamp" ]]; then
  echo "$bin_dir"; exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  say "no Pulumi CLI v3.$min_minor+ on PATH and no Go toolchain to build one."
  say "Install Go >= 1.26 (https://go.dev/doc/install; on Debian: a go1.26 tarball in /usr/local/go),"
  say "or install the Pulumi CLI (v3.$min_minor.0 or newer) with its Node.js language host on PATH, then rerun."
  exit 1
fi

mkdir -p "$bin_dir"
started=$SECONDS
export GOFLAGS="-mod=mod"
cd "$root/engine"
say "downloading Go modules for the Pulumi CLI v$pulumi_version (first time only)..."
go mod download -x 2>&1 | awk '/^# get .*\.zip$/ { n++; if (n % 25 == 0) printf "engine:   %d module archives fetched\n", n > "/dev/stderr" }'
say "compiling the Pulumi CLI (a few minutes on 2 cores)..."
go build -tags osusergo,grpcnotrace -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version" \
  -o "$bin_dir/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$bin_dir/pulumi.tmp" "$bin_dir/pulumi"
say "compiling the Node.js language host..."
go build -trimpath -ldflags "-s -w -X main.version=$pulumi_version" \
  -o "$bin_dir/pulumi-language-nodejs" ./langhost
echo "$stamp" > "$bin_dir/.stamp"
say "built in $((SECONDS - started))s: $bin_dir"
echo "$bin_dir"
