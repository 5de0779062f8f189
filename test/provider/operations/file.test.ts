import { describe, it } from "vitest";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

const PATH = "/etc/sysctl.d/90-mptcp-pulumi-tuning.conf";

describe("file operations", () => {
  it("writes a new file, never cuts the session, and is undone by removing it", () => {
    expectOperation({ type: "file", action: "write", path: PATH, content: "a = 1\n" }, hostState(), {
      render: { kind: "writeFile", path: PATH, content: "a = 1\n", mode: "0644" },
      mayCut: false,
      inverse: [{ kind: "removeFile", path: PATH }],
    });
  });

  it("removes a file and is undone by writing back what it held", () => {
    const before = hostState();
    before.files[PATH] = "old = 1\n";
    expectOperation({ type: "file", action: "remove", path: PATH }, before, {
      render: { kind: "removeFile", path: PATH },
      mayCut: false,
      inverse: [{ kind: "writeFile", path: PATH, content: "old = 1\n", mode: "0644" }],
    });
  });
});
