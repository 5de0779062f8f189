/**
 * Which resource of the state manages which object, as refresh read them, shared by the
 * engine's provider processes of one CLI command. `preview --refresh` and `up --refresh` read
 * the state's resources in one provider process and check the program's in another, so a new
 * URN adopting an object an old URN manages (a rename without aliases) can only be noticed
 * through a note both can read: a file in our private runtime folder, named after the CLI
 * process (the provider's grandparent: pulumi starts the dynamic-provider host through a
 * shell script). Where /proc is missing the notes stay in the process.
 */
import { appendFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runtimeDir } from "./transport/ssh";

/** Notes of stored resources by object, for this CLI command. */
export interface Sightings {
  /** Notes that the state's resource `id` manages `object`. */
  record(object: string, id: string): void;
  /** The stored resource noted for `object`, if any. */
  lookup(object: string): string | undefined;
}

/** In one process only (tests, and where /proc is missing). */
export function memorySightings(): Sightings {
  const notes = new Map<string, string>();
  return { record: (object, id) => void notes.set(object, id), lookup: (object) => notes.get(object) };
}

/** Field `n` (1-based, after the command name) of /proc/PID/stat. */
function statField(pid: number | "self", n: number): string | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3];
}

/** "PID-STARTTIME" of the CLI process that started this provider, or undefined. */
export function cliProcessKey(): string | undefined {
  try {
    const cli = Number(statField(process.ppid, 4));
    return `${cli}-${statField(cli, 22)}`;
  } catch {
    return undefined;
  }
}

/** Notes shared through a file named after the CLI process; notes of finished commands are removed. */
export function sharedSightings(key = cliProcessKey()): Sightings {
  if (key === undefined) return memorySightings();
  const dir = runtimeDir();
  const file = join(dir, `sightings-${key}.jsonl`);
  for (const name of readdirSync(dir)) {
    const pid = /^sightings-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && name !== `sightings-${key}.jsonl` && !alive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
  return {
    record: (object, id) => appendFileSync(file, `${JSON.stringify([object, id])}\n`, { mode: 0o600 }),
    lookup(object) {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return undefined;
      }
      const lines = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as [string, string]);
      return lines.find(([o]) => o === object)?.[1];
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
