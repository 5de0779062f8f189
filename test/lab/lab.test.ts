/**
 * The lab itself: two real SSH servers with the guide's addresses, their own /etc, and two
 * data links that both carry traffic.
 */
import { describe, expect, it } from "vitest";
import { lab, onHost, tryOnHost } from "./harness";

/** Bytes sent by an interface of a server, from the kernel's counters. */
function txBytes(server: string, dev: string): number {
  return Number(onHost(server, "cat", `/sys/class/net/${dev}/statistics/tx_bytes`).trim());
}

describe("lab", () => {
  it("reaches both servers over real SSH with the guide's addresses", () => {
    const one = lab("ssh", "server1", "ip", "-br", "addr");
    expect(one).toMatch(/eno1\S*\s+UP\s+10\.0\.0\.1\/24/);
    expect(one).toMatch(/eno2\S*\s+UP\s+192\.168\.0\.1\/24/);
    const two = lab("ssh", "server2", "ip", "-br", "addr");
    expect(two).toMatch(/10\.0\.0\.2\/24/);
    expect(two).toMatch(/192\.168\.0\.2\/24/);
  });

  it("gives each server its own /etc", () => {
    lab("ssh", "server1", "sh", "-c", "echo one > /etc/mptcp-lab-isolation");
    try {
      expect(onHost("server1", "cat", "/etc/mptcp-lab-isolation").trim()).toBe("one");
      expect(tryOnHost("server2", "test", "-e", "/etc/mptcp-lab-isolation").status).not.toBe(0);
      expect(tryOnHost("server1", "test", "-e", "/nonexistent").status).not.toBe(0);
    } finally {
      onHost("server1", "rm", "-f", "/etc/mptcp-lab-isolation");
    }
  });

  it("starts with no MPTCP configuration of its own", () => {
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
    expect(onHost("server2", "ip", "rule", "show")).not.toMatch(/lookup 10[12]/);
  });

  it.each(["eno1", "eno2"])("carries traffic on %s", (dev) => {
    const peer = dev === "eno1" ? "10.0.0.1" : "192.168.0.1";
    onHost("server1", "iperf3", "-s", "-1", "-D", "-p", "5299");
    const before = txBytes("server2", dev);
    // A fixed amount, not a rate: the assertion is that this link carried most of it (the rest may still be queued).
    onHost("server2", "sh", "-c", `for i in 1 2 3 4 5 6 7 8 9 10; do iperf3 -c ${peer} -p 5299 -n 4M >/dev/null && exit 0; sleep 0.3; done; exit 1`);
    expect(txBytes("server2", dev) - before).toBeGreaterThan(2 * 1024 * 1024);
  });
});
