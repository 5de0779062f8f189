/**
 * The provider's sums of the probe's text against the host's own: a change set's check under
 * the lock (lib.sh `part_text PART | checksum`) must find every part of an unchanged host as the
 * plan saw it, or every change set would be refused as "host changed". Run on a real host (a
 * namespace with the provider's host programs), with something in every part.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGER_FILES } from "../../../provider/host";
import { parseProbe, readScript } from "../../../provider/protocol";
import { checksum, STATE_PARTS } from "../../../provider/state/fingerprints";
import { hostProgram } from "../../support/hostRun";
import { NamespaceHost } from "../../support/nsHost";

let host: NamespaceHost;
beforeAll(async () => {
  host = await NamespaceHost.start();
  host.sh(
    [
      "ip addr add 10.0.0.2/24 dev eno1",
      "ip -6 addr add fd00::2/64 dev eno1 nodad",
      "ip mptcp endpoint add 10.0.0.2 dev eno1 subflow",
      "ip mptcp limits set subflow 2 add_addr_accepted 2",
      "ip rule add from 10.0.0.2 table 101 pref 1001",
      "ip -6 rule add from fd00::2 table 101 pref 1001",
      "ip route add 10.0.0.0/24 dev eno1 table 101",
      "ip -6 route add fd00::/64 dev eno1 table 101",
      "mkdir -p /etc/mptcp-pulumi/parts /etc/sysctl.d",
      "printf 'endpoint address=10.0.0.2\\n\\n' > /etc/mptcp-pulumi/parts/40-endpoint-10.0.0.2.part",
      ": > /etc/mptcp-pulumi/parts/30-table-101.part",
      "printf 'no final newline' > /etc/sysctl.d/90-mptcp-pulumi-host.conf",
    ].join(" && "),
  );
});
afterAll(() => host.stop());

describe("the fingerprints of a host's state", () => {
  it("are, part by part, the sums the host computes under the lock", async () => {
    const state = parseProbe((await host.run(readScript([], false), "read")).stdout);
    const sums = hostProgram(["lib", ...MANAGER_FILES], [`for p in ${STATE_PARTS.join(" ")}; do echo "$p $(part_text "$p" | checksum)"; done`]);
    const onHost = (await host.run(sums, "sums")).stdout;
    expect(state.fingerprints).toEqual(Object.fromEntries(STATE_PARTS.map((p) => [p, sumOf(onHost, p)])));
  });

  it("change with the part: a rule added after the read gives the rules another sum, and no other part", async () => {
    const before = parseProbe((await host.run(readScript([], false), "read")).stdout).fingerprints;
    host.sh("ip rule add from 10.0.0.3 table 102 pref 1002");
    const after = parseProbe((await host.run(readScript([], false), "read")).stdout).fingerprints;
    expect(after.rules).not.toBe(before.rules);
    expect({ ...after, rules: "" }).toEqual({ ...before, rules: "" });
  });

  it("are md5sum's, as the host's checksum prints them", () => {
    expect(checksum("x\n")).toBe("401b30e3b8b5d629635a5c613cdb7919");
  });
});

/** The sum the host printed for `part`. */
function sumOf(output: string, part: string): string | undefined {
  return output.split("\n").find((line) => line.startsWith(`${part} `))?.split(" ")[1];
}
