import { describe, expect, it } from "vitest";
import { failoverConfig, optionsOf } from "../../scripts/verify";

describe("npm run verify's options", () => {
  it("takes --failover with a path and kinds, and --report", () => {
    const o = optionsOf(["--failover", "--failover-path", "eno2", "--failover-kinds", "drop", "--report", "out.html"]);
    expect(o).toMatchObject({ failover: true, failoverPath: "eno2", failoverKinds: ["drop"] });
    expect(o.report).toMatch(/\/out\.html$/);
  });

  it("refuses failover details without --failover, and bad numbers, naming the option", () => {
    expect(() => optionsOf(["--failover-path", "eno2"])).toThrow(/--failover-path and --failover-kinds go with --failover/);
    expect(() => optionsOf(["--seconds", "0"])).toThrow(/--seconds is 1\.\.120/);
  });

  it("fails a path the lab's way unless the stack says how; options override the stack", () => {
    expect(failoverConfig(optionsOf([]), undefined)).toBeUndefined();
    expect(failoverConfig(optionsOf(["--failover"]), undefined)).toMatchObject({ kinds: ["carrier", "drop"], inject: { via: "netns" } });
    const stack = { seconds: 3, runs: 1, failover: { kinds: ["carrier" as const], before: 1, during: 2, after: 2, inject: { via: "ssh" as const, host: "server" as const, carrier: { fail: ["a"], restore: ["b"] }, guardSeconds: 60 } } };
    expect(failoverConfig(optionsOf(["--failover", "--failover-path", "eno2"]), stack)).toMatchObject({ path: "eno2", kinds: ["carrier"], inject: { via: "ssh" } });
    expect(() => failoverConfig(optionsOf(["--failover", "--failover-kinds", "drop"]), stack)).toThrow(/inject\.drop: give the fail and restore commands for drop/);
  });
});
