/**
 * Issue 5 with the real CLI on the lab: a catalogue of bad inputs refused at preview with no
 * command run on any host; secrets kept out of state and output; sshd stopped in the middle of
 * `up`; a command failing inside a change set; a data link down; a simulated reboot.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptedConnections, freshLab, lab, LAB_DIR, onHost, ROOT } from "../lab/harness";
import { previewOps, snapshot, TempProject, type LabHostConfig } from "./project";

/** Edits of the lab stack's hosts, with the fields and reasons the preview must print. */
interface BadInput {
  edit: (hosts: LabHostConfig[]) => void;
  expect: Array<[string, RegExp]>;
}

const [S, C] = [0, 1]; // hosts[0] is server1 (the server), hosts[1] is server2 (the client)

/** Schema-level problems: reported together by one preview. */
const SCHEMA_ERRORS: BadInput = {
  edit: (h) => {
    h[S]!.interfaces[0].addresses = ["10.0.0.300/24"];
    h[S]!.interfaces[1].addresses = ["192.168.0.1/33"];
    h[C]!.interfaces[0].addresses = ["10.0.0.2"];
    h[C]!.interfaces[1].name = "eno2-far-too-long-name";
    h[S]!.limits = { subflows: 9, addAddrAccepted: -1 };
    h[S]!.endpoints[0] = { address: "192.168.0.256", dev: "eno2;reboot", flags: ["implicit"], id: 0 };
    h[S]!.policyRoutes[0].table = 254;
    h[S]!.policyRoutes[0].rules[0].priority = 32766;
    h[S]!.policyRoutes[1].routes[0] = { dst: "192.168.0.0/40", dev: "en/o2", scope: "link" };
    Object.assign(h[S]!.sysctls, { "foo.bar": 1, "net..ipv4": 1, "net.ipv4.tcp_wmem": "1\n2", "net.ipv4.tcp_rmem": "$(reboot)" });
    h[S]!.connection.host = "-oProxyCommand=reboot";
    h[S]!.connection.port = 70000;
    h[C]!.role = "primary";
    h[C]!.connection.user = "root;id";
    h[C]!.connection.hostKey = "not-a-key";
  },
  expect: [
    ["hosts[0].interfaces[0].addresses[0]", /"10\.0\.0\.300" is not an IPv4 or IPv6 address/],
    ["hosts[0].interfaces[1].addresses[0]", /"192\.168\.0\.1\/33" is not an address with prefix/],
    ["hosts[1].interfaces[0].addresses[0]", /"10\.0\.0\.2" is not an address with prefix/],
    ["hosts[1].interfaces[1].name", /at most 15 characters/],
    ["hosts[0].limits.subflows", /at most 8/],
    ["hosts[0].limits.addAddrAccepted", /.+/],
    ["hosts[0].endpoints[0].address", /"192\.168\.0\.256" is not an IPv4 or IPv6 address/],
    ["hosts[0].endpoints[0].dev", /shell metacharacters/],
    ["hosts[0].endpoints[0].flags[0]", /.+/],
    ["hosts[0].endpoints[0].id", /1\.\.255/],
    ["hosts[0].policyRoutes[0].table", /reserved by the kernel/],
    ["hosts[0].policyRoutes[0].rules[0].priority", /.+/],
    ["hosts[0].policyRoutes[1].routes[0].dst", /"192\.168\.0\.0\/40" is not an address with prefix/],
    ["hosts[0].policyRoutes[1].routes[0].dev", /cannot contain '\/'/],
    ["hosts[0].sysctls.foo.bar", /"foo\.bar": only net\.\* keys are tuned here/],
    ["hosts[0].sysctls.net..ipv4", /"net\.\.ipv4": sysctl keys are dotted names/],
    ["hosts[0].sysctls.net.ipv4.tcp_wmem", /single line \(no newlines\)/],
    ["hosts[0].sysctls.net.ipv4.tcp_rmem", /may only contain letters, digits/],
    ["hosts[0].connection.host", /host must be a host name or an IP address/],
    ["hosts[0].connection.port", /port is 1\.\.65535/],
    ["hosts[1].role", /role is server .* or client/],
    ["hosts[1].connection.user", /user must be a POSIX user name/],
    ["hosts[1].connection.hostKey", /hostKey must be one public key line/],
  ],
};

/** Problems only visible across fields and hosts: reported together by a second preview. */
const CROSS_ERRORS: BadInput = {
  edit: (h) => {
    h[S]!.endpoints = [
      { address: "192.168.0.1", dev: "eno2", flags: ["signal", "fullmesh"] },
      { address: "10.0.0.1", dev: "eno1", flags: ["subflow"], port: 5000, id: 7 },
      { address: "10.0.0.1", dev: "eno1", flags: ["signal"], id: 7 },
      { address: "10.9.9.9", dev: "eno9", flags: ["signal"] },
      { address: "192.168.0.1", dev: "eno2", flags: ["backup"] },
    ];
    h[S]!.policyRoutes[0].routes = [{ dst: "default", dev: "eno1", via: "192.168.7.1" }];
    h[S]!.policyRoutes[1].rules = [{ from: "192.168.0.77", priority: 1002 }];
    h[C]!.limits = { subflows: 0, addAddrAccepted: 0 };
    h[C]!.interfaces[1].addresses = ["192.168.0.2/24", "172.16.5.2/24"];
    h[C]!.endpoints = [
      { address: "192.168.0.2", dev: "eno2", flags: ["subflow"] },
      { address: "172.16.5.2", dev: "eno2", flags: ["subflow"] },
      { address: "10.0.0.2", dev: "eno2", flags: ["subflow"] },
    ];
    h[C]!.policyRoutes[1].table = 101;
    h[C]!.connection.privateKeyPath = "/nonexistent/key";
    h[C]!.connection.knownHostsPath = "/nonexistent/known_hosts";
  },
  expect: [
    ["hosts[0].endpoints[0].flags", /signal and fullmesh cannot be combined/],
    ["hosts[0].endpoints[1].port", /port is only valid with the signal flag/],
    ["hosts[0].endpoints[1].port", /port cannot be used with the subflow flag/],
    ["hosts[0].endpoints[2].id", /endpoint id 7 is also used by endpoints\[1\]/],
    ["hosts[0].endpoints[4].address", /endpoint 192\.168\.0\.1 is declared twice \(also endpoints\[0\]\)/],
    ["hosts[0].endpoints[3].dev", /interface eno9 is not declared/],
    ["hosts[0].policyRoutes[0].routes[0].via", /gateway 192\.168\.7\.1 is outside eno1's subnets/],
    ["hosts[0].policyRoutes[1].rules[0].from", /192\.168\.0\.77 is not an address of this host's interfaces/],
    ["hosts[1].endpoints[2].address", /10\.0\.0\.2 is not one of eno2's addresses/],
    ["hosts[1].endpoints[1].address", /subflow address 172\.16\.5\.2 has no server address in its subnet/],
    ["hosts[1].limits.addAddrAccepted", /server server1 announces \d+ address\(es\) with signal: the client would ignore them/],
    ["hosts[1].limits.subflows", /extra path\(s\) are declared/],
    ["hosts[0].limits.subflows", /is 2 but clients will open 3 extra subflow\(s\)/],
    ["hosts[1].policyRoutes[1].table", /table 101 is declared twice/],
    ["hosts[1].connection.privateKeyPath", /the private key \/nonexistent\/key does not exist/],
    ["hosts[1].connection.knownHostsPath", /known_hosts \/nonexistent\/known_hosts does not exist/],
  ],
};

function connections(): number {
  return acceptedConnections("server1") + acceptedConnections("server2");
}

beforeAll(() => freshLab());

describe("bad input is refused at preview, naming the field, and no host is touched", () => {
  const cases: Array<[string, BadInput]> = [
    ["schema", SCHEMA_ERRORS],
    ["cross-field and cross-host", CROSS_ERRORS],
  ];
  it.each(cases)("%s problems", (_name, bad) => {
    const project = new TempProject("bad", bad.edit);
    try {
      const before = [connections(), snapshot("server1"), snapshot("server2")];
      const r = project.pulumi("preview");
      const output = r.stdout + r.stderr;
      expect(r.status).not.toBe(0);
      expect(output).toContain("invalid stack configuration (nothing was changed on any host)");
      const refusals = output.split("\n").filter((l) => /^\s*mptcp-pulumi:hosts/.test(l));
      for (const [field, reason] of bad.expect) {
        const line = refusals.find((l) => l.includes(`mptcp-pulumi:${field}: `) && reason.test(l));
        expect(line, `${field} ${reason}`).toBeDefined();
      }
      // And no other field: a refusal there is a false one, or a rule to list here. A field may
      // carry more than one reason (a name with a '/' that also starts with '-').
      const unexpected = refusals.filter((l) => !bad.expect.some(([field]) => l.includes(`mptcp-pulumi:${field}: `)));
      expect(unexpected).toEqual([]);
      expect([connections(), snapshot("server1"), snapshot("server2")]).toEqual(before);
    } finally {
      project.remove();
    }
  });

  it("refuses a wrong host key at up, before any change, with a clear message", () => {
    const project = new TempProject("hostkey", (h) => h.forEach((host) => (host.connection.knownHostsPath = join(LAB_DIR, "wrong_known_hosts"))));
    try {
      const keys = readFileSync(join(LAB_DIR, "known_hosts"), "utf8").trim().split("\n");
      // server1's address with server2's key, and the other way round
      const swapped = keys.map((l) => (l.startsWith("172.31.1.2 ") ? l.replace("172.31.1.2", "172.31.2.2") : l.replace("172.31.2.2", "172.31.1.2")));
      writeFileSync(join(LAB_DIR, "wrong_known_hosts"), `${swapped.join("\n")}\n`);
      const before = [snapshot("server1"), snapshot("server2")];
      const r = project.pulumi("up", "--yes", "--skip-preview");
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/on root@172\.31\.1\.2:22: .*exited 255.*host key is unknown or changed/s);
      expect([snapshot("server1"), snapshot("server2")]).toEqual(before);
    } finally {
      project.remove();
    }
  });

  it("refuses an unreachable host at up with a clear message", () => {
    const project = new TempProject("unreachable", (h) => (h[C]!.connection.port = 2222));
    try {
      const r = project.pulumi("up", "--yes", "--skip-preview");
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/on root@172\.31\.2\.2:2222: .*nothing listens on the SSH port/s);
    } finally {
      project.remove();
    }
  });
});

describe("secrets", () => {
  it("keeps a private key given as a secret out of state, output and disk", () => {
    const started = Date.now();
    const key = readFileSync(join(LAB_DIR, "id_ed25519"), "utf8");
    const body = key.split("\n").filter((l) => l && !l.startsWith("-----"));
    const project = new TempProject("secret", (h) => h.forEach((host) => delete host.connection.privateKeyPath));
    try {
      const set = project.run(["bash", join(ROOT, "scripts/pulumi.sh"), "-C", project.dir, "config", "set", "--secret", "privateKey", "--stack", "secret"], key);
      expect(set.status, set.stderr).toBe(0);
      const up = project.pulumi("up", "--yes", "--skip-preview");
      expect(up.status, up.stdout + up.stderr).toBe(0);
      const exported = project.ok("stack", "export");
      const everything = [exported, up.stdout, up.stderr, readFileSync(project.configFile, "utf8"), ...filesUnder(join(project.dir, "state"))].join("\n");
      for (const line of body) expect(everything).not.toContain(line);
      expect(everything).not.toContain("PRIVATE KEY");
      expect(exported).toContain('"privateKey"');
      expect(exported).toContain("4dabf18193072939515e22adb298388d"); // Pulumi's secret signature
      // The provider's temporary key file is gone once the operation ended.
      const keyFiles = filesUnder("/tmp").concat(filesUnder("/run/user")).filter((f) => /mptcp-pulumi-[^/]+\/k-[^/]+\/id$/.test(f));
      expect(keyFiles.filter((f) => statSync(f).mtimeMs >= started)).toEqual([]);
      project.ok("destroy", "--yes", "--skip-preview");
    } finally {
      project.remove();
    }
  });
});

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (st.isDirectory()) out = out.concat(filesUnder(path));
      else if (dir.includes("state")) out.push(readFileSync(path, "utf8"));
      else out.push(path);
    } catch {
      // vanished while walking
    }
  }
  return out;
}

describe("faults", () => {
  let project: TempProject;
  beforeAll(() => {
    freshLab();
    project = new TempProject("faults");
  });
  afterAll(() => project?.remove());

  it("sshd stopped on one server in the middle of up: the other completes, the state matches, a rerun converges", async () => {
    // Slow server2's management link so that its share of `up` takes seconds, not milliseconds.
    onHost("server2", "tc", "qdisc", "replace", "dev", "mgmt0", "root", "tbf", "rate", "256kbit", "burst", "16kb", "latency", "2s");
    const { spawn } = await import("node:child_process");
    const child = spawn("bash", [join(__dirname, "../../scripts/pulumi.sh"), "-C", project.dir, "up", "--yes", "--skip-preview", "--continue-on-error", "--stack", "faults", "--non-interactive"], { env: project.env });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    // Stop sshd as soon as server2 has its first change.
    for (let i = 0; i < 600; i++) {
      if (onHost("server2", "sh", "-c", "ls /etc/mptcp-pulumi/parts 2>/dev/null | wc -l").trim() !== "0") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    lab("sshd-stop", "server2");
    const status = await exited;
    expect(status).not.toBe(0);
    expect(output).toMatch(/on root@172\.31\.2\.2:22/);
    // server1 completed everything.
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    expect(onHost("server1", "ip", "route", "show", "table", "102").trim()).toBe("192.168.0.0/24 dev eno2 scope link");

    onHost("server2", "tc", "qdisc", "del", "dev", "mgmt0", "root");
    lab("sshd-start", "server2");
    // The state matches the hosts: after refresh, nothing server1 has is missing, and what
    // server2 lacks is planned as create, never assumed.
    project.ok("refresh", "--yes");
    const ops = previewOps(project.ok("preview", "--json"));
    for (const [name, op] of Object.entries(ops)) if (name.startsWith("server1")) expect(op, name).toBe("same");
    project.ok("up", "--yes", "--skip-preview");
    project.ok("preview", "--refresh", "--expect-no-changes");
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.2 id 1 subflow dev eno2");
  });

  it("a data link down is reported as drift and by verify, and up repairs it", () => {
    onHost("server1", "ip", "link", "set", "dev", "eno2", "down");
    const drift = project.pulumi("refresh", "--preview-only", "--expect-no-changes");
    expect(drift.status).not.toBe(0);
    const v = project.verify(1);
    expect(v.status).not.toBe(0);
    expect(v.results[0]!.problems.join(" ")).toMatch(/no second path joined|active path eno2 carried only/);
    project.ok("up", "--yes", "--refresh", "--skip-preview");
    expect(onHost("server1", "ip", "-br", "link", "show", "dev", "eno2")).toMatch(/\bUP\b/);
    expect(project.verify(1).status).toBe(0);
  });

  it("a simulated reboot brings the whole configuration back", () => {
    lab("reboot", "server2");
    lab("reboot", "server1");
    project.ok("preview", "--refresh", "--expect-no-changes");
    expect(project.verify(1).status).toBe(0);
  });

  it("destroy leaves both servers as the lab made them", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("");
    expect(onHost("server2", "sh", "-c", "ls /etc/mptcp-pulumi 2>&1; true")).toMatch(/No such file/);
  });
});
