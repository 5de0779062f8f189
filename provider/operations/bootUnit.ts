/** The boot-replay unit: enabling it, disabling it, and removing the replay once no part is left. */
import { APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, PARTS_DIR, PERSIST_DIR, UDEV_RULE_PATH, UNIT_LINK, UNIT_PATH } from "../hostpaths";
import { AS_ROOT_FUNCTION } from "../privilege";
import type { FileOp } from "./file";
import type { Noted, OperationFamily } from "./types";

/**
 * Enables or disables mptcp-pulumi.service, or removes the units, the udev rule and the replay
 * folder when no part is left (decided on the host, under the lock: another stack may have added a part).
 */
export type BootUnitOp = Noted & { type: "bootUnit"; action: "enable" | "disable" | "removeIfUnused" };

// udev reloads its rules by itself too; a host without udevd (a container) has nothing to reload.
const RELOAD = "{ [ ! -d /run/systemd/system ] || as_root systemctl daemon-reload; } && { as_root udevadm control --reload 2>/dev/null || true; }";
// Each privileged step goes through as_root, so sudo never has to allow a shell.
const SCRIPTS: Record<BootUnitOp["action"], string> = {
  enable: `${AS_ROOT_FUNCTION}; as_root mkdir -p "\${2%/*}" && as_root ln -sf "$1" "$2" && ${RELOAD}`,
  disable: `${AS_ROOT_FUNCTION}; as_root rm -f "$2" && ${RELOAD}`,
  removeIfUnused: `${AS_ROOT_FUNCTION}; if [ -z "$(ls -A "$4" 2>/dev/null)" ]; then as_root rm -f "$2" "$1" "$5" "$6" && as_root rm -rf "$3" && ${RELOAD}; fi`,
};

/** Boot-unit operations run a fixed script with the paths as arguments; none cuts the session. */
export const bootUnitFamily: OperationFamily<BootUnitOp, BootUnitOp | FileOp> = {
  render: (op) => ({ kind: "exec", escalates: "inside", argv: ["sh", "-c", SCRIPTS[op.action], `mptcp-pulumi-${op.action}`, UNIT_PATH, UNIT_LINK, PERSIST_DIR, PARTS_DIR, DEVICE_UNIT_PATH, UDEV_RULE_PATH] }),
  mayCut: () => false,
  describe: (op) =>
    op.action === "removeIfUnused" ? `remove mptcp-pulumi.service, its device unit and udev rule, and ${PERSIST_DIR} (no parts left)` : `${op.action} mptcp-pulumi.service at boot`,
  inverse(op, before): Array<BootUnitOp | FileOp> {
    const wasEnabled = before.files[UNIT_LINK] !== undefined;
    if (op.action === "enable") return wasEnabled ? [] : [{ type: "bootUnit", action: "disable", note: "(undo)" }];
    if (op.action === "disable") return wasEnabled ? [{ type: "bootUnit", action: "enable", note: "(restore)" }] : [];
    // Put back every file of the replay the host had, then its enablement.
    const files: Array<BootUnitOp | FileOp> = Object.entries(before.files)
      .filter(([path]) => [UNIT_PATH, APPLY_SCRIPT_PATH, DEVICE_UNIT_PATH, UDEV_RULE_PATH].includes(path) || path.startsWith(`${PARTS_DIR}/`))
      .map(([path, content]) => ({ type: "file", action: "write", path, content, note: "(restore)" }));
    return wasEnabled ? [...files, { type: "bootUnit", action: "enable", note: "(restore)" }] : files;
  },
};
