import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { HostConfig } from "../../../provider/components/config";
import { childOptions } from "../../../provider/components/options";

const parent = {} as pulumi.Resource;
const host = (options?: HostConfig["options"]) => ({ name: "alpha", options }) as HostConfig;

describe("a component child's resource options", () => {
  it("alias the child's URN at the top of the stack (stacks made before the components)", () => {
    const opts = childOptions(parent, host(), { suffix: "mptcp", kind: "mptcp" });
    expect(opts.parent).toBe(parent);
    expect(opts.aliases).toEqual([{ parent: pulumi.rootStackResource }]);
    expect(opts).not.toHaveProperty("protect");
    expect(opts).not.toHaveProperty("ignoreChanges");
  });

  it("alias the names under each earlier host name, under the component and at the top", () => {
    const opts = childOptions(parent, host({ aliases: ["server1"] }), { suffix: "eno1", kind: "interface", own: { aliases: ["legacy-eno1"] } });
    expect(opts.aliases).toEqual([
      { parent: pulumi.rootStackResource },
      { name: "server1-eno1" },
      { name: "server1-eno1", parent: pulumi.rootStackResource },
      { name: "legacy-eno1" },
      { name: "legacy-eno1", parent: pulumi.rootStackResource },
    ]);
  });

  it("take the host's options, the entry's own on top, and the host's ignoreChanges only where the kind has the property", () => {
    const h = host({ protect: true, retainOnDelete: true, ignoreChanges: ["values", "mtu"] });
    expect(childOptions(parent, h, { suffix: "tuning", kind: "tuning" })).toMatchObject({ protect: true, retainOnDelete: true, ignoreChanges: ["values"] });
    expect(childOptions(parent, h, { suffix: "eno1", kind: "interface", own: { protect: false, ignoreChanges: ["addresses"] } })).toMatchObject({ protect: false, retainOnDelete: true, ignoreChanges: ["mtu", "addresses"] });
    expect(childOptions(parent, h, { suffix: "verify" })).not.toHaveProperty("ignoreChanges");
  });

  it("fall back to the component's retainOnDelete, and keep the caller's dependencies", () => {
    const opts = childOptions(parent, host(), { suffix: "mptcp", kind: "mptcp" }, { retainOnDelete: true }, { dependsOn: [] });
    expect(opts).toMatchObject({ retainOnDelete: true, dependsOn: [] });
  });
});
