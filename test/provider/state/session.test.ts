import { describe, expect, it } from "vitest";
import type { Change } from "../../../provider/changes";
import { mayCutConnection } from "../../../provider/state/session";

const ip = (...args: string[]): Change => ({ kind: "ip", args, summary: args.join(" ") });
const sysctl = (key: string): Change => ({ kind: "sysctl", key, value: "1", summary: key });

describe("mayCutConnection (which change sets are armed for commit-confirmed)", () => {
  it.each([
    ip("link", "set", "dev", "eno1", "down"),
    ip("address", "del", "10.0.0.1/24", "dev", "eno1"),
    ip("rule", "add", "from", "10.0.0.1", "table", "101"),
    ip("route", "replace", "default", "via", "10.0.0.254", "table", "101"),
    sysctl("net.ipv4.conf.all.rp_filter"),
    sysctl("net.ipv4.ip_forward"),
    sysctl("net.ipv6.conf.default.disable_ipv6"),
  ])("arms for %j", (change) => {
    expect(mayCutConnection(change)).toBe(true);
  });

  it.each([
    ip("mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow"),
    ip("mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2"),
    sysctl("net.ipv4.tcp_rmem"),
    sysctl("net.mptcp.enabled"),
    { kind: "writeFile", path: "/etc/mptcp-pulumi/apply.sh", content: "", summary: "w" } as Change,
  ])("does not arm for %j", (change) => {
    expect(mayCutConnection(change)).toBe(false);
  });
});
