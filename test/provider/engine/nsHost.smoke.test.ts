import { afterAll, beforeAll, expect, it } from "vitest";
import { HostSession } from "../../../provider/state/session";
import { NamespaceHost } from "../../support/nsHost";

let host: NamespaceHost;
beforeAll(async () => {
  host = await NamespaceHost.start();
});
afterAll(() => host.stop());

it("reads a namespace host with the real probe", async () => {
  const s = new HostSession(host);
  const state = await s.state();
  expect(state.links.map((l) => l.name)).toEqual(expect.arrayContaining(["eno1", "eno2"]));
  expect(state.facts.mptcpAvailable).toBe(true);
});
