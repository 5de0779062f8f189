/** The boot-replay unit: enabling it, disabling it, and removing the replay once no part is left. */
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, PERSIST_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../hostpaths";
import type { FileOp } from "./file";
import type { Noted, OperationFamily } from "./types";

/**
 * Enables or disables mptcp-pulumi.service, or removes the units, the udev rule, the replay
 * folder and the managers' `hooks` that run it when no part is left (decided on the host, under
 * the lock: another stack may have added a part, and resources whose removals share a round trip
 * were planned on one read, so none of them knows it is the last).
 */
export type BootUnitOp = Noted & { type: "bootUnit"; action: "enable" | "disable" | "removeIfUnused"; hooks?: readonly string[] };

/** The host function's word for each action. */
const ACTIONS: Record<BootUnitOp["action"], string> = { enable: "enable", disable: "disable", removeIfUnused: "remove-if-unused" };

/** Boot-unit operations call the host's boot_unit with the paths as arguments; none cuts the session. */
export const bootUnitFamily: OperationFamily<BootUnitOp, BootUnitOp | FileOp> = {
  render: (op) => ({ kind: "call", fn: "boot_unit", args: [ACTIONS[op.action], UNIT_PATH, UNIT_LINK, PERSIST_DIR, PARTS_DIR, DEVICE_UNIT_PATH, UDEV_RULE_PATH, ...(op.hooks ?? [])] }),
  mayCut: () => false,
  dependsOn: () => ["files"],
  describe: (op) =>
    op.action === "removeIfUnused" ? `remove mptcp-pulumi.service, its device unit and udev rule, and ${PERSIST_DIR} (no parts left)` : `${op.action} mptcp-pulumi.service at boot`,
  inverse(op, before): Array<BootUnitOp | FileOp> {
    const wasEnabled = before.files[UNIT_LINK] !== undefined;
    if (op.action === "enable") return wasEnabled ? [] : [{ type: "bootUnit", action: "disable", note: "(undo)" }];
    if (op.action === "disable") return wasEnabled ? [{ type: "bootUnit", action: "enable", note: "(restore)" }] : [];
    // Put back every file of the replay the host had, then its enablement.
    const files: Array<BootUnitOp | FileOp> = Object.entries(before.files)
      .filter(([path]) => [UNIT_PATH, APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, UDEV_RULE_PATH, ...(op.hooks ?? [])].includes(path) || path.startsWith(`${PARTS_DIR}/`))
      .map(([path, content]) => ({ type: "file", action: "write", path, content, note: "(restore)" }));
    return wasEnabled ? [...files, { type: "bootUnit", action: "enable", note: "(restore)" }] : files;
  },
};
