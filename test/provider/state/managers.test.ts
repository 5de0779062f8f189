import { describe, expect, it } from "vitest";
import { parseIfstate } from "../../../provider/keepers/ifupdown/facts";
import { networkdConfOrder, networkdManager, parseNetworkdConf, parseSystemdBoolean } from "../../../provider/keepers/networkd/facts";
import { nmManagers, splitTerse } from "../../../provider/keepers/networkmanager/facts";
import { parseManagerSections, parseMptcpd, parseUnits } from "../../../provider/state/managers";
import { parseProbe, splitSections } from "../../../provider/protocol";
import { fixtureText, hostState } from "../../support/fixtures";

/** Recorded on Debian 12 containers of the lab image (see test/fixtures/probe-managers-NOTES.md). */
const NETPLAN = "probe-managers-networkd-netplan.txt";
const DROPIN = "probe-managers-networkd-dropin.txt";
const NM = "probe-managers-networkmanager-mptcpd.txt";

const managers = (fixture: string) => parseProbe(fixtureText(fixture)).facts.managers;

describe("manager facts from recorded probes (systemd 252)", () => {
  it("netplan + networkd: eno1/eno2 belong to networkd through netplan's files, mgmt0 to nobody", () => {
    const m = managers(NETPLAN);
    expect(m.systemd).toBe(true);
    expect(m.interfaces["eno1"]).toEqual({ kind: "networkd", networkFile: "/run/systemd/network/10-netplan-eno1.network", dropIns: [], fromNetplan: true });
    expect(m.interfaces["eno2"]).toMatchObject({ kind: "networkd", fromNetplan: true });
    expect(m.interfaces["mgmt0"]).toEqual({ kind: "none" });
    expect(m.interfaces["lo"]).toBeUndefined();
    expect(m.netplan).toEqual({ installed: true, files: ["/etc/netplan/50-lab.yaml"] });
  });

  it("netplan + networkd: networkd runs with both Manage* at their default (yes: it removes foreign rules and routes)", () => {
    expect(managers(NETPLAN).networkd).toEqual({ running: true, manageForeignRoutingPolicyRules: true, manageForeignRoutes: true, configFiles: ["/etc/systemd/networkd.conf"] });
  });

  it("netplan + networkd: mptcpd installed but stopped, its plugins are every plugin installed", () => {
    const { mptcpd } = managers(NETPLAN);
    expect(mptcpd.running).toBe(false);
    expect(mptcpd.plugins).toEqual(["addr_adv", "sspi"]);
    expect(mptcpd.config["path-manager"]).toBe("addr_adv");
    expect(mptcpd.commandLine).toBeUndefined();
  });

  it("networkd without netplan: its own .network files, and a drop-in that keeps foreign routes", () => {
    const m = managers(DROPIN);
    expect(m.interfaces["eno1"]).toEqual({ kind: "networkd", networkFile: "/etc/systemd/network/20-eno1.network", dropIns: [], fromNetplan: false });
    expect(m.networkd.manageForeignRoutes).toBe(false);
    expect(m.networkd.manageForeignRoutingPolicyRules).toBe(true);
    expect(m.networkd.configFiles).toEqual(["/etc/systemd/networkd.conf", "/etc/systemd/networkd.conf.d/60-keep.conf"]);
    expect(m.netplan.files).toEqual([]);
  });

  it("NetworkManager + mptcpd: each data link's connection with its mptcp-flags; unmanaged mgmt0 is nobody's", () => {
    const m = managers(NM);
    expect(m.networkManager.running).toBe(true);
    expect(m.networkd.running).toBe(false);
    expect(m.interfaces["eno1"]).toEqual({
      kind: "NetworkManager",
      connection: { id: "eno1", uuid: "1b316f6c-37c5-35f8-b5d1-7fc69d1d5066", mptcpFlags: "0x0", filename: "/etc/NetworkManager/system-connections/eno1.nmconnection" },
    });
    expect(m.interfaces["eno2"]).toMatchObject({ kind: "NetworkManager", connection: { id: "eno2", mptcpFlags: "0x22" } });
    expect(m.interfaces["mgmt0"]).toEqual({ kind: "none" });
  });

  it("NetworkManager + mptcpd: mptcpd runs, with its command line", () => {
    const { mptcpd } = managers(NM);
    expect(mptcpd.running).toBe(true);
    expect(mptcpd.commandLine).toBe("/usr/libexec/mptcpd --log=journal");
    expect(mptcpd.plugins).toEqual(["addr_adv", "sspi"]);
  });

  it("a host without systemd (the netns lab) has no managers and every link is nobody's", () => {
    const m = hostState().facts.managers;
    expect(m.systemd).toBe(false);
    expect(m.networkd.running).toBe(false);
    expect(m.networkManager.running).toBe(false);
    expect(Object.values(m.interfaces).every((i) => i.kind === "none")).toBe(true);
    expect(m.netplan.installed).toBe(false);
  });
});

describe("parseManagerSections", () => {
  const addr = JSON.stringify([{ ifindex: 2, ifname: "eno1" }, { ifindex: 3, ifname: "eno2" }]);
  const sections = (extra: Record<string, string>) => new Map<string, string>([["addr", addr], ...Object.entries(extra)]);

  it("counts interfaces ifupdown brought up as ifupdown's", () => {
    const m = parseManagerSections(sections({ ifupdown: "eno1=eno1\n" }));
    expect(m.interfaces).toEqual({ eno1: { kind: "ifupdown" }, eno2: { kind: "none" } });
  });

  it("ignores networkd's state files while networkd is stopped (they stay in /run)", () => {
    const units = "Id=systemd-networkd.service\nActiveState=inactive\nMainPID=0\n";
    const m = parseManagerSections(sections({ "manager-units": units, "networkd-link 2": "ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/a.network\n" }));
    expect(m.interfaces["eno1"]).toEqual({ kind: "none" });
  });
});

describe("networkd parsers", () => {
  it("reads NETWORK_FILE_DROPINS (systemd >= 254) in order", () => {
    const m = networkdManager('ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/a.network\nNETWORK_FILE_DROPINS="/etc/systemd/network/a.network.d/1.conf /etc/systemd/network/a.network.d/2.conf"\n');
    expect(m?.dropIns).toEqual(["/etc/systemd/network/a.network.d/1.conf", "/etc/systemd/network/a.network.d/2.conf"]);
  });

  it("leaves an unmanaged link to nobody", () => {
    expect(networkdManager("ADMIN_STATE=unmanaged\n")).toBeUndefined();
  });

  it("reads the first main file found, then drop-ins by name, /etc masking /usr/lib", () => {
    expect(
      networkdConfOrder([
        "/usr/lib/systemd/networkd.conf",
        "/usr/lib/systemd/networkd.conf.d/10-a.conf",
        "/usr/lib/systemd/networkd.conf.d/30-c.conf",
        "/etc/systemd/networkd.conf.d/30-c.conf",
        "/run/systemd/networkd.conf.d/20-b.conf",
      ]),
    ).toEqual(["/usr/lib/systemd/networkd.conf", "/usr/lib/systemd/networkd.conf.d/10-a.conf", "/run/systemd/networkd.conf.d/20-b.conf", "/etc/systemd/networkd.conf.d/30-c.conf"]);
  });

  it("lets a later drop-in override an earlier one, only in [Network], ignoring invalid booleans", () => {
    const files = new Map([
      ["/etc/systemd/networkd.conf", "[Network]\nManageForeignRoutingPolicyRules=no\n[DHCPv4]\nManageForeignRoutes=no\n"],
      ["/etc/systemd/networkd.conf.d/10.conf", "[Network]\nManageForeignRoutingPolicyRules = yes\nManageForeignRoutes=maybe\n"],
      ["/etc/systemd/networkd.conf.d/20.conf", "# comment\n[Network]\nManageForeignRoutingPolicyRules=off\n"],
    ]);
    const facts = parseNetworkdConf(files, true);
    expect(facts.manageForeignRoutingPolicyRules).toBe(false);
    expect(facts.manageForeignRoutes).toBe(true);
  });

  it("parses systemd booleans", () => {
    expect(["1", "yes", "Y", "true", "on"].map(parseSystemdBoolean)).toEqual([true, true, true, true, true]);
    expect(["0", "no", "false", "OFF"].map(parseSystemdBoolean)).toEqual([false, false, false, false]);
    expect(parseSystemdBoolean("2")).toBeUndefined();
  });

  it("reads systemctl show blocks by Id", () => {
    const units = parseUnits("MainPID=37\nId=a.service\nActiveState=active\n\nMainPID=0\nId=b.service\nActiveState=failed\n");
    expect(units.get("a.service")).toEqual({ active: true, mainPid: 37 });
    expect(units.get("b.service")).toEqual({ active: false, mainPid: 0 });
  });
});

describe("NetworkManager and mptcpd parsers", () => {
  it("unescapes nmcli's terse fields", () => {
    expect(splitTerse("a\\:b:c\\\\d:")).toEqual(["a:b", "c\\d", ""]);
  });

  it("gives a managed but disconnected device no connection", () => {
    const m = nmManagers("eno1:disconnected:\neno2:unmanaged:\n", new Map(), "");
    expect(m.get("eno1")).toEqual({ kind: "NetworkManager" });
    expect(m.has("eno2")).toBe(false);
  });

  it("takes load-plugins from the command line over the config", () => {
    const facts = parseMptcpd("[core]\nload-plugins=addr_adv,sspi\n", "/usr/lib/x/mptcpd/addr_adv.so\n", "/usr/libexec/mptcpd --load-plugins=sspi ", true);
    expect(facts.plugins).toEqual(["sspi"]);
    expect(parseMptcpd("[core]\nload-plugins=addr_adv, sspi\n", "", undefined, true).plugins).toEqual(["addr_adv", "sspi"]);
  });

  it("reads ifupdown's state lines", () => {
    expect([...parseIfstate("eno1=eno1\nlo=lo\n\n")]).toEqual(["eno1", "lo"]);
  });

  it("splits the recorded probe into the sections the facts need", () => {
    const names = [...splitSections(fixtureText(NM)).keys()];
    expect(names).toEqual(expect.arrayContaining(["manager-units", "nm-devices", "nm-files", "mptcpd-cmdline", "mptcpd-plugins"]));
  });
});
