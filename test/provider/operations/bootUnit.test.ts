import { describe, it } from "vitest";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, PERSIST_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../../../provider/hostpaths";
import { render } from "../../../provider/operations";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

const argv = (action: "enable" | "disable" | "removeIfUnused") => {
  const r = render({ type: "bootUnit", action });
  return r.kind === "exec" ? r.argv : [];
};

describe("boot unit operations", () => {
  it("enables the unit with the paths as arguments, never cuts the session, and is undone by disabling it", () => {
    expectOperation({ type: "bootUnit", action: "enable" }, hostState(), {
      render: { kind: "exec", escalates: "inside", argv: ["sh", "-c", argv("enable")[2]!, "mptcp-pulumi-enable", UNIT_PATH, UNIT_LINK, PERSIST_DIR, PARTS_DIR, DEVICE_UNIT_PATH, UDEV_RULE_PATH] },
      mayCut: false,
      inverse: [{ kind: "exec", escalates: "inside", argv: argv("disable") }],
    });
  });

  it("has no inverse for enabling a unit that was already enabled", () => {
    const before = hostState();
    before.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expectOperation({ type: "bootUnit", action: "enable" }, before, { render: { kind: "exec", escalates: "inside", argv: argv("enable") }, mayCut: false, inverse: [] });
  });

  it("is undone, after removing the replay, by writing back its files and enabling it", () => {
    const before = hostState();
    before.files[APPLY_SCRIPT_PATH] = "#!/bin/sh\n";
    before.files[UNIT_PATH] = "[Unit]\n";
    before.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expectOperation({ type: "bootUnit", action: "removeIfUnused" }, before, {
      render: { kind: "exec", escalates: "inside", argv: argv("removeIfUnused") },
      mayCut: false,
      inverse: [
        { kind: "writeFile", path: APPLY_SCRIPT_PATH, content: "#!/bin/sh\n" },
        { kind: "writeFile", path: UNIT_PATH, content: "[Unit]\n" },
        { kind: "exec", escalates: "inside", argv: argv("enable") },
      ],
    });
  });
});
