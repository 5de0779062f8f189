/**
 * The lab stack on real servers: Debian 12 containers booting systemd with netplan rendering to
 * systemd-networkd, through the lifecycle of test/e2e/lifecycle.ts (up with the verification, a
 * clean refresh, a real reboot of both servers, destroy back to the image). Every flavor's own
 * events, refusals and destroy are the variation matrix's (matrix.test.ts).
 */
import { afterAll } from "vitest";
import { tierHarness } from "../lab/harness";
import { describeLifecycle } from "./lifecycle";

const sd = tierHarness("systemd");

afterAll(() => {
  sd.lab("down");
});

describeLifecycle({ name: "netplan flavor", stack: "sd-netplan", harness: sd, up: ["--flavor", "netplan"], lostAtReboot: [] });
