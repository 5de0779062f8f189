import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { flattenForReport } from "../../provider/plainErrors";

describe("errors flattened before Pulumi reports them", () => {
  it("keep a RunError's message and lose its stack, as Pulumi would print it", () => {
    const error = new pulumi.RunError("invalid stack configuration");
    flattenForReport(error);
    expect(error.message).toBe("invalid stack configuration");
    expect(error.stack).toBeUndefined();
  });

  it("fold the program's own frames into the message of any other error", () => {
    const error = new TypeError("boom");
    error.stack = [
      "TypeError: boom",
      "    at declareHost (/srv/project/stacks/index.ts:40:11)",
      "    at Object.<anonymous> (/srv/project/node_modules/@pulumi/resource.ts:1598:22)",
      "    at Module._compile (node:internal/modules/cjs/loader:1554:14)",
    ].join("\n");
    flattenForReport(error);
    expect(error.message).toBe("boom\n    at declareHost (/srv/project/stacks/index.ts:40:11)");
    expect(error.stack).toBeUndefined();
  });

  it("leave what is not an Error alone", () => {
    const thrown = { message: "not an error" };
    flattenForReport(thrown);
    expect(thrown).toEqual({ message: "not an error" });
  });

  it("leave nothing that makes coloured inspect walk a source-mapped @pulumi path", () => {
    const error = new Error("bad config");
    error.stack = "Error: bad config\n    at x (/p/node_modules/@pulumi/resource.ts:1598:22)";
    flattenForReport(error);
    expect(inspect(error, { colors: true })).not.toContain("resource.ts");
  });
});
