/**
 * The lab stack on real servers: Debian 12 containers booting systemd with a real network stack
 * (netplan + systemd-networkd, NetworkManager, or plain addresses from a oneshot unit); the
 * lifecycle of test/e2e/lifecycle.ts on each flavor.
 */
import { afterAll } from "vitest";
import { tierHarness } from "../lab/harness";
import { describeLifecycle } from "./lifecycle";

const sd = tierHarness("systemd");

afterAll(() => {
  sd.lab("down");
});

// What a real reboot of both servers loses is measured (`npm run events` has the whole table).
// Losing it is today's truth, not the goal: issue 12 makes the provider cooperate with the
// network managers so that these lists become empty.
describeLifecycle({
  name: "networkd flavor",
  stack: "sd-networkd",
  harness: sd,
  up: ["--flavor", "networkd"],
  // server2's reboot drops the carrier of server1's eno1/eno2; systemd-networkd reconfigures
  // them and removes the per-table routes it did not configure itself (ManageForeignRoutes).
  // The rebooted servers replay theirs.
  lostAtReboot: ["server1-table-101", "server1-table-102"],
});
describeLifecycle({ name: "networkmanager flavor", stack: "sd-nm", harness: sd, up: ["--flavor", "networkmanager"], lostAtReboot: [] });
describeLifecycle({ name: "plain flavor", stack: "sd-plain", harness: sd, up: ["--flavor", "plain"], lostAtReboot: [] });
