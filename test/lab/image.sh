#!/usr/bin/env bash
# Builds (once) and caches the lab's Debian root filesystem images with mmdebstrap, from
# Debian's own packages: one image per release holding the packages of every flavor
# (netplan + systemd-networkd, NetworkManager, ifupdown, mptcpd, sshd, sudo, iproute2, iperf3, mptcpize),
# all network managers disabled; the flavor is chosen when a server is created.
#
# Usage: bash test/lab/image.sh <release>[-vm] [--rebuild]   (prints the image directory)
#   release: bookworm (Debian 12, systemd 252, kernel 6.1) or trixie (Debian 13, systemd 257,
#   kernel 6.12); `-vm` adds the distribution kernel, udev and an initramfs for virtio disks
#   (the VM tier boots /boot/vmlinuz and /boot/initrd.img of it directly).
# Images live in <repo>/.images/<release>[-vm] (git-ignored), or in $LAB_IMAGES.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
IMAGES=${LAB_IMAGES:-$REPO_ROOT/.images}
MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}
SECURITY=${LAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Bump when the package list or the customization changes: old images are rebuilt.
IMAGE_VERSION=4

# Every flavor's packages, so one image serves them all.
PACKAGES=(
  systemd systemd-sysv dbus libpam-systemd
  netplan.io network-manager mptcpd mptcpd-plugins ifupdown
  openssh-server iproute2 iperf3 mptcpize ethtool procps iputils-ping kmod less sudo
)

say() { printf 'image: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

name=${1:-}
rebuild=0
[[ ${2:-} == --rebuild ]] && rebuild=1
release=${name%-vm}
case $name in
  bookworm | trixie) ;;
  bookworm-vm | trixie-vm)
    PACKAGES+=(linux-image-amd64 initramfs-tools udev)
    ;;
  *) die "image must be bookworm, trixie, bookworm-vm or trixie-vm (got '${name}')" ;;
esac
# A VM boots from a virtio disk: the initramfs needs just these (MODULES=list keeps it small).
# shellcheck disable=SC2016 # run by mmdebstrap's hook, which passes the root as $1
VM_HOOK='printf "%s\n" virtio_pci virtio_blk virtio_net ext4 > "$1"/etc/initramfs-tools/modules && sed -i "s/^MODULES=.*/MODULES=list/" "$1"/etc/initramfs-tools/initramfs.conf && chroot "$1" update-initramfs -u -k all >/dev/null'
hooks=()
[[ $name == *-vm ]] && hooks+=(--customize-hook="$VM_HOOK")
[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap builds a root filesystem owned by root)"
command -v mmdebstrap >/dev/null 2>&1 || die "missing mmdebstrap; install it with: apt-get install mmdebstrap"

dir=$IMAGES/$name
stamp=$dir/etc/mptcp-lab-image
if ((!rebuild)) && [[ -f $stamp ]] && grep -qx "version=$IMAGE_VERSION" "$stamp"; then
  echo "$dir"
  exit 0
fi

mkdir -p "$IMAGES"
exec 8>"$IMAGES/.$name.lock"
flock -w 1800 8 || die "another build of $name is still running"
# A concurrent build may have finished while we waited for the lock.
if ((!rebuild)) && [[ -f $stamp ]] && grep -qx "version=$IMAGE_VERSION" "$stamp"; then
  echo "$dir"
  exit 0
fi

tmp=$IMAGES/.$name.tmp
rm -rf --one-file-system "$tmp"
started=$(date +%s)
say "building the $name image in $dir (mmdebstrap from $MIRROR; a few minutes, once)"
# The customize hook runs inside the finished tree: managers off (a flavor turns one on), no
# shared SSH host keys (each server gets its own), no console logins.
# shellcheck disable=SC2016 # expanded by the hook's shell
mmdebstrap --variant=minbase --verbose \
  --include="$(
    IFS=,
    echo "${PACKAGES[*]}"
  )" \
  --customize-hook='chroot "$1" systemctl disable NetworkManager.service NetworkManager-wait-online.service systemd-networkd.service systemd-networkd-wait-online.service systemd-resolved.service mptcp.service networking.service 2>/dev/null || true' \
  --customize-hook='chroot "$1" systemctl mask getty@tty1.service console-getty.service 2>/dev/null || true' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*_key "$1"/etc/ssh/ssh_host_*_key.pub "$1"/etc/machine-id; : > "$1"/etc/machine-id' \
  --customize-hook='printf "%s\n" "HostKey /etc/ssh/ssh_host_ed25519_key" "PasswordAuthentication no" "KbdInteractiveAuthentication no" "PermitRootLogin prohibit-password" "MaxSessions 64" "MaxStartups 64" "LogLevel VERBOSE" > "$1"/etc/ssh/sshd_config.d/lab.conf' \
  "${hooks[@]+"${hooks[@]}"}" \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  "$release" "$tmp" \
  "deb $MIRROR $release main" \
  "deb $MIRROR $release-updates main" \
  "deb $SECURITY $release-security main" 2>&1 |
  while IFS= read -r line; do
    # mmdebstrap's own phase lines and apt's unpack/setup lines are the progress worth showing.
    case $line in
      I:* | *Unpacking* | *"Setting up"*) say "$name: ${line:0:110}" ;;
    esac
  done
[[ -x $tmp/usr/lib/systemd/systemd || -x $tmp/lib/systemd/systemd ]] || die "the $name build failed (no systemd in $tmp)"
if [[ $name == *-vm ]] && ! compgen -G "$tmp/boot/vmlinuz-*" >/dev/null; then die "the $name build failed (no kernel in /boot)"; fi
printf 'release=%s\nversion=%s\nbuilt=%s\n' "$name" "$IMAGE_VERSION" "$(date -u +%FT%TZ)" >"$tmp/etc/mptcp-lab-image"
rm -rf --one-file-system "$dir"
mv "$tmp" "$dir"
say "$name image ready in $(($(date +%s) - started))s ($(du -sh "$dir" | cut -f1))"
echo "$dir"
