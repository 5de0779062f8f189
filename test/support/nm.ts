/** NetworkManager fixtures for the unit tests: the lab's client as NM 1.42 reports it. */
import { splitSections } from "../../provider/protocol";
import { parseNmSections, type NmConnection } from "../../provider/keepers/networkmanager/facts";
import type { HostState } from "../../provider/state/types";
import { fixtureText, hostState } from "./fixtures";

/** NM's part of the probe, recorded on the systemd tier (see fixtures/nm-probe-NOTES.md). */
export const NM_PROBE_1_42 = "nm-probe-networkmanager-1.42.txt";

/** Connections NM had active on eno1 and eno2, freshly parsed. */
export function nmConnections(): NmConnection[] {
  return parseNmSections(splitSections(fixtureText(NM_PROBE_1_42)));
}

/** The 6.1 host fixture with NetworkManager managing eno1 and eno2; `edit` changes eno2's connection. */
export function nmHostState(edit?: (eno2: NmConnection) => void): HostState {
  const state = hostState("6.1");
  state.nm = nmConnections();
  state.facts.managers.networkManager.running = true;
  // What the manager facts report for them (provider/state/managers.ts).
  for (const c of state.nm) {
    state.facts.managers.interfaces[c.device] = { kind: "NetworkManager", connection: { id: c.id, uuid: c.uuid, mptcpFlags: c.settings["connection.mptcp-flags"] } };
  }
  const eno2 = state.nm.find((c) => c.device === "eno2")!;
  edit?.(eno2);
  return state;
}
