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

packages=(jq systemd-container mmdebstrap qemu-system-x86 socat openssh-server openssh-client iproute2 iperf3 mptcpize ethtool procps util-linux kmod psmisc iputils-ping tcpdump ca-certificates)
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

command -v node >/dev/null || { say "Node.js >= 20 is required (https://nodejs.org or the distribution's nodejs)"; exit 1; }
say "installing npm packages (npm ci)"
(cd "$root" && npm ci --no-audit --no-fund --loglevel=error)

say "finding or building the Pulumi engine"
bash "$root/scripts/engine.sh" >/dev/null
(cd "$root" && node node_modules/typescript/bin/tsc -p tsconfig.json)
say "ready"
