/** Files the provider owns on a host (sysctl.d files, the boot replay). */
import type { Noted, OperationFamily } from "./types";

/** Writes a file whole (with `mode`; 0644 when unset), or removes it. */
export type FileOp = Noted & { type: "file" } & ({ action: "write"; path: string; content: string; mode?: string | undefined } | { action: "remove"; path: string });

/** A file write or removal never cuts the session and is undone to the file the host had. */
export const fileFamily: OperationFamily<FileOp> = {
  render: (op) => (op.action === "write" ? { kind: "writeFile", path: op.path, content: op.content, mode: op.mode ?? "0644" } : { kind: "removeFile", path: op.path }),
  mayCut: () => false,
  dependsOn: () => ["files"],
  inverse(op, before): FileOp[] {
    const old = before.files[op.path];
    if (old !== undefined) return [{ type: "file", action: "write", path: op.path, content: old, ...(op.action === "write" && op.mode ? { mode: op.mode } : {}), note: "(restore)" }];
    return op.action === "write" ? [{ type: "file", action: "remove", path: op.path, note: "(undo)" }] : [];
  },
};
