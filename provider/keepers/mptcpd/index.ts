/**
 * mptcpd, the userspace MPTCP daemon (Debian's mptcpize recommends it, so it often runs unasked).
 * Its addr_adv plugin drives the in-kernel path manager itself: at start it sets the limits, and
 * at every local address that appears or goes it sets them again from its own count and adds (or
 * removes) an endpoint of its own (mptcpd 0.12, plugins/path_managers/addr_adv.c; measured on
 * Debian 12: the stack's limits 4/4 were 3/0 right after `up` added an address). Nothing runs
 * after it, so it cannot be kept beside a stack that declares limits or endpoints: refused,
 * with the fix. Without addr_adv it touches neither.
 */
import type { MptcpdFacts } from "../../state/types";
import type { CheckFailure } from "../../validation";

/** The plugin that sets limits and adds endpoints. */
const ADDR_ADV = "addr_adv";

/** What the host declares that addr_adv would overwrite. */
export interface PathManagerClaims {
  limits: boolean;
  endpoints: number;
}

/** Refusals mptcpd implies for a host that declares limits or endpoints. */
export function mptcpdRefusals(mptcpd: MptcpdFacts, claims: PathManagerClaims): CheckFailure[] {
  if (!mptcpd.running || !mptcpd.plugins.includes(ADDR_ADV)) return [];
  if (!claims.limits && claims.endpoints === 0) return [];
  return [
    {
      property: claims.limits ? "limits" : "declaredEndpoints",
      reason:
        "mptcpd runs (mptcp.service) with its addr_adv plugin, which sets the path manager's limits and adds endpoints of its own whenever a local address appears or goes: " +
        "it would undo the stack's limits and endpoints. Fix: systemctl disable --now mptcp.service (mptcpize works without it); the endpoints it added stay (ip mptcp endpoint show), so delete those you do not want; then run up again",
    },
  ];
}
