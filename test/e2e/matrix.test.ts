/**
 * The variation matrix on the systemd tier (test/e2e/matrix.ts): every cell kept or refused.
 * Every CI run takes the labs below (Debian 12: the managers most servers run, ifupdown, netplan and
 * NetworkManager with mptcpd) to stay within its time budget; plain is the netns and VM tiers'
 * flavor, and networkd without netplan shares netplan's keeper (provider/keepers/networkd);
 * `MATRIX=all` takes all of them (both releases, each manager also with mptcpd): the long job, and
 * `MATRIX=netplan,networkd+mptcpd@trixie` picks labs by name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tierHarness } from "../lab/harness";
import { eventsOf, labName, pickLabs, refusalsOf, runMatrixLab, type Cell } from "./matrix";

const sd = tierHarness("systemd");
const SLOW = 1_800_000;

/** The labs of every CI run (Debian 12): the managers most servers run. */
const CI = ["ifupdown", "netplan", "networkmanager+mptcpd"];

const labs = pickLabs(process.env["MATRIX"] ?? CI.join(","));

afterAll(() => {
  sd.lab("down");
});

for (const l of labs) {
  describe(`variation matrix: ${labName(l)}`, () => {
    let cells: Cell[] = [];
    beforeAll(() => {
      cells = runMatrixLab(sd, l, { settle: 20, log: (m) => process.stderr.write(`matrix: ${m}\n`) });
    }, SLOW);

    const outcome = (event: string) => cells.find((c) => c.event === event)?.outcome ?? { kind: "not run (an earlier step failed)" };
    for (const r of refusalsOf(l)) {
      it(`refused before any change: ${r.name}`, () => {
        expect(outcome(r.name)).toMatchObject({ kind: "refused" });
      });
    }
    for (const event of ["pulumi up", ...eventsOf(l).map((e) => e.name), "pulumi destroy"]) {
      it(`kept: ${event}`, () => {
        expect(outcome(event)).toMatchObject({ kind: "kept" });
      });
    }
  });
}
