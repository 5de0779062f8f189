/**
 * The lab itself: two real SSH servers with the guide's addresses, their own /etc, and two
 * data links that both carry traffic.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { lab, labHosts, onHost, ROOT, tryOnHost } from "./harness";
import { stackHosts } from "./topology";

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

  it("delays its links with --delays where this machine's kernel has netem, and refuses it, naming tier and kernel, where not", () => {
    const netem = spawnSync("unshare", ["--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]).status === 0;
    if (!netem) {
      // This machine's kernel (no sch_netem): refused before anything is touched.
      const r = spawnSync("bash", [join(ROOT, "test/lab/lab.sh"), "up", "--delays", "50,50"], { encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/--delays needs sch_netem in the kernel that shapes the links: the netns tier shares this machine's kernel \(\S+\), which cannot add netem \(tc: .*\); the VM tier's guests have it/);
      return;
    }
    lab("up", "--delays", "50,50");
    try {
      for (const s of ["server1", "server2"]) expect(onHost(s, "tc", "qdisc", "show", "dev", "eno1")).toMatch(/qdisc netem 10: parent 1:1 limit \d+ delay 50ms/);
    } finally {
      lab("up");
    }
    expect(onHost("server1", "tc", "qdisc", "show", "dev", "eno1")).not.toMatch(/netem/);
  });

  it("is the topology Pulumi.lab.yaml configures (one pair, two links)", () => {
    const doc = load(readFileSync(join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> };
    const keys = { privateKeyPath: ".lab/id_ed25519", knownHostsPath: ".lab/known_hosts" };
    expect(stackHosts(labHosts(), keys)).toEqual(doc.config["mptcp-pulumi:hosts"]);
  });

  it("builds --links 3 with per-link --rates, each link shaped and carrying traffic, and goes back to two", () => {
    lab("up", "--links", "3", "--rates", "200,50,100");
    try {
      expect(labHosts().map((h) => h.links.map((l) => `${l.name} ${l.address} ${l.rateMbit}`))).toEqual([
        ["eno1 10.0.0.1/24 200", "eno2 192.168.0.1/24 50", "eno3 10.3.0.1/24 100"],
        ["eno1 10.0.0.2/24 200", "eno2 192.168.0.2/24 50", "eno3 10.3.0.2/24 100"],
      ]);
      expect(onHost("server2", "tc", "qdisc", "show", "dev", "eno2")).toMatch(/tbf .* rate 50Mbit/);
      expect(onHost("server1", "tc", "qdisc", "show", "dev", "eno3")).toMatch(/tbf .* rate 100Mbit/);
      const before = txBytes("server2", "eno3");
      onHost("server2", "ping", "-c", "3", "-i", "0.2", "-s", "1400", "10.3.0.1");
      expect(txBytes("server2", "eno3") - before).toBeGreaterThan(3 * 1400);
    } finally {
      lab("up");
    }
    expect(tryOnHost("server1", "ip", "link", "show", "dev", "eno3").status).not.toBe(0);
    expect(labHosts()[0]!.links.map((l) => l.rateMbit)).toEqual([200, 200]);
  });
});
