/**
 * The lab stack on virtual machines with the distributions' own kernels (QEMU, software
 * emulation): Debian 12 (kernel 6.1, iproute2 6.1) and Debian 13 (kernel 6.12, iproute2 6.15),
 * plain flavor; the lifecycle of test/e2e/lifecycle.ts on each kernel.
 */
import { afterAll, expect } from "vitest";
import { tierHarness } from "../lab/harness";
import { describeLifecycle } from "./lifecycle";

const vm = tierHarness("vm");

afterAll(() => {
  vm.lab("down");
});

const KERNELS = [
  { release: "bookworm", kernel: /^6\.1\./, iproute2: /iproute2-6\.1\./ },
  { release: "trixie", kernel: /^6\.12\./, iproute2: /iproute2-6\.15\./ },
];

for (const k of KERNELS) {
  describeLifecycle({
    name: `${k.release}`,
    stack: `vm-${k.release}`,
    harness: vm,
    up: ["--release", k.release, "--flavor", "plain"],
    lostAtReboot: [],
    labChecks: () => {
      for (const s of ["server1", "server2"]) {
        expect(vm.onHost(s, "uname", "-r").trim()).toMatch(k.kernel);
        expect(vm.onHost(s, "ip", "-V")).toMatch(k.iproute2);
      }
    },
  });
}
