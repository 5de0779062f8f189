import { describe, it } from "vitest";
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, PERSIST_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../../../provider/hostpaths";
import type { Rendered } from "../../../provider/operations";
import { hostState } from "../../support/fixtures";
import { expectOperation } from "./support";

/** The host's boot_unit function with an action and every path as arguments. */
const call = (action: string): Rendered => ({ kind: "call", fn: "boot_unit", args: [action, UNIT_PATH, UNIT_LINK, PERSIST_DIR, PARTS_DIR, DEVICE_UNIT_PATH, UDEV_RULE_PATH] });

describe("boot unit operations", () => {
  it("enables the unit with the paths as arguments, never cuts the session, and is undone by disabling it", () => {
    expectOperation({ type: "bootUnit", action: "enable" }, hostState(), { render: call("enable"), mayCut: false, inverse: [call("disable")] });
  });

  it("has no inverse for enabling a unit that was already enabled", () => {
    const before = hostState();
    before.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expectOperation({ type: "bootUnit", action: "enable" }, before, { render: call("enable"), mayCut: false, inverse: [] });
  });

  it("is undone, after removing the replay, by writing back its files and enabling it", () => {
    const before = hostState();
    before.files[APPLY_SCRIPT_PATH] = "#!/bin/sh\n";
    before.files[UNIT_PATH] = "[Unit]\n";
    before.files[UNIT_LINK] = `${UNIT_PATH}\n`;
    expectOperation({ type: "bootUnit", action: "removeIfUnused" }, before, {
      render: call("remove-if-unused"),
      mayCut: false,
      inverse: [
        { kind: "writeFile", path: APPLY_SCRIPT_PATH, content: "#!/bin/sh\n", mode: "0644" },
        { kind: "writeFile", path: UNIT_PATH, content: "[Unit]\n", mode: "0644" },
        call("enable"),
      ],
    });
  });
});
