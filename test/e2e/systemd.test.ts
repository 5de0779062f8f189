/**
 * The lab stack on real servers: Debian 12 containers booting systemd with a real network stack
 * (netplan + systemd-networkd, NetworkManager, or plain addresses from a oneshot unit); the
 * lifecycle of test/e2e/lifecycle.ts on each flavor, and on networkd the manager's own events.
 */
import { spawnSync } from "node:child_process";
import { afterAll, expect } from "vitest";
import { tierHarness } from "../lab/harness";
import { describeLifecycle } from "./lifecycle";

const sd = tierHarness("systemd");

afterAll(() => {
  sd.lab("down");
});

// With the netplan flavor, the policy routes go into a netplan file of ours and networkd keeps
// them: nothing is lost at a reboot or at any of networkd's own events, all on one `up`. Only
// device-bound endpoints lose their device when the NICs are re-created in a container (no udev).
const onClient = (...command: string[]) => void sd.onHost("server2", ...command);
describeLifecycle({
  name: "netplan flavor",
  stack: "sd-netplan",
  harness: sd,
  up: ["--flavor", "netplan"],
  lostAtReboot: [],
  events: [
    { name: "networkctl reconfigure eno2", run: () => onClient("networkctl", "reconfigure", "eno2") },
    { name: "systemctl restart systemd-networkd", run: () => onClient("systemctl", "restart", "systemd-networkd") },
    { name: "netplan apply", run: () => onClient("netplan", "apply") },
    {
      name: "eno2 carrier down and up",
      run: () => {
        // The peer's end goes down for 3 s: the client sees its carrier drop, as when a cable is pulled.
        sd.onHost("server1", "ip", "link", "set", "dev", "eno2", "down");
        spawnSync("sleep", ["3"]);
        sd.onHost("server1", "ip", "link", "set", "dev", "eno2", "up");
      },
    },
    {
      // networkd configures the new NICs again (addresses, rules, routes), but an endpoint bound
      // to a device keeps the old interface index. The provider's device unit would replay it, but
      // containers run no udev (the VM tier proves it, vm.test.ts): refresh finds it, `up --refresh` replaces it.
      name: "the data NICs re-created (lab relink, as a driver reload)",
      run: () => void sd.lab("relink", "server2"),
      lost: ["server1-endpoint-192.168.0.1", "server2-endpoint-192.168.0.2"],
    },
    {
      name: "a restart of the boot replay (systemctl restart mptcp-pulumi.service)",
      run: () => {
        onClient("systemctl", "restart", "mptcp-pulumi.service");
        expect(sd.tryOnHost("server2", "systemctl", "is-failed", "mptcp-pulumi.service").stdout.trim()).toBe("active");
      },
    },
  ],
});
describeLifecycle({ name: "networkmanager flavor", stack: "sd-nm", harness: sd, up: ["--flavor", "networkmanager"], lostAtReboot: [] });
describeLifecycle({ name: "plain flavor", stack: "sd-plain", harness: sd, up: ["--flavor", "plain"], lostAtReboot: [] });
