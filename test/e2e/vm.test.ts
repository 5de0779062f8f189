/**
 * The lab stack on virtual machines with the distributions' own kernels (QEMU, software
 * emulation): Debian 12 (kernel 6.1, iproute2 6.1, netplan + networkd) and Debian 13 (kernel
 * 6.12, iproute2 6.15, no network manager); the lifecycle of test/e2e/lifecycle.ts on each. VMs
 * run udev, which the systemd tier's containers do not: a NIC re-created by a driver rebind
 * wakes the provider's device unit, which puts back what the new NIC lost.
 */
import { spawnSync } from "node:child_process";
import { afterAll, expect } from "vitest";
import { tierHarness } from "../lab/harness";
import { describeLifecycle } from "./lifecycle";
import { describeLongPaths } from "./longpaths";

const vm = tierHarness("vm");

afterAll(() => {
  vm.lab("down");
});

const KERNELS = [
  { release: "bookworm", flavor: "netplan", kernel: /^6\.1\./, iproute2: /iproute2-6\.1\./ },
  { release: "trixie", flavor: "plain", kernel: /^6\.12\./, iproute2: /iproute2-6\.15\./ },
];

for (const k of KERNELS) {
  describeLifecycle({
    name: `${k.release}, ${k.flavor} flavor`,
    stack: `vm-${k.release}`,
    harness: vm,
    up: ["--release", k.release, "--flavor", k.flavor],
    lostAtReboot: [],
    events: [
      {
        // A real carrier loss on the peer (QEMU's set_link), not an admin down: the kernel keeps the routes.
        name: "eno2 carrier lost and back on the peer (QEMU set_link)",
        run: () => {
          vm.lab("link", "server1", "eno2", "down");
          spawnSync("sleep", ["3"]);
          vm.lab("link", "server1", "eno2", "up");
        },
      },
      // networkd configures the new NIC's addresses and routes, nobody the plain one's; the
      // endpoint stays on the dead ifindex either way. The device unit replays: nothing is lost.
      { name: "the data NICs re-created (virtio_net unbound and bound again in the guest)", run: () => void vm.lab("relink", "server2") },
    ],
    labChecks: () => {
      for (const s of ["server1", "server2"]) {
        expect(vm.onHost(s, "uname", "-r").trim()).toMatch(k.kernel);
        expect(vm.onHost(s, "ip", "-V")).toMatch(k.iproute2);
      }
    },
  });
  // Long fat paths on the pair this lifecycle booted (no boot of its own). On 6.1 because in
  // about 70 delayed transfers a 6.12 guest panicked once (a NULL pointer in net_rx_action,
  // ksoftirqd; seen on its console) and stopped answering once more, while the 6.1 guests went
  // through about 90 without a fault.
  if (k.release === "bookworm") describeLongPaths(vm, ["--release", k.release, "--flavor", k.flavor]);
}
