/**
 * The wiring every resource shares: schema check, input diff, and create/read/update/delete
 * around a resource's pure planning functions. A resource supplies what differs (how to plan,
 * observe and remove); this module supplies sessions, locking, the single-batch apply and the
 * after-apply verification.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { Login, ProviderContext } from "./context";
import { warn } from "./engineLog";
import type { Operation } from "./operations";
import { connectionFileProblems, hostKeyOf, machineOf, type Connection } from "./connection";
import { undoApplied } from "./state/changes";
import type { HostState } from "./state/types";
import { tracedProvider, type CallLabel } from "./trace";
import { parseOrThrow, validate, type CheckFailure } from "./validation";

/** Inputs shared by every resource. */
export interface Hosted {
  connection: Connection;
  privateKey?: string | undefined;
}

/** A resource planning error found before anything was sent to the host. */
export class PlanError extends Error {
  /** `connection` names the host, spelled as everywhere else. */
  constructor(
    connection: Connection,
    /** What was planned, e.g. "table 102". */
    readonly resource: string,
    /** Why it cannot be done, without the host. */
    readonly reason: string,
  ) {
    super(`${resource} on ${hostKeyOf(connection)}: ${reason}`);
    this.name = "PlanError";
  }
}

/** What a resource kind must provide. `O` is its outputs: the inputs plus what it observed. */
export interface ResourceDefinition<I extends Hosted, O extends I> {
  /** Type name shown by Pulumi, e.g. "Endpoint". */
  kind: string;
  /** Parses raw inputs (applies defaults, enforces the kernel's rules). */
  schema: z.ZodType<I>;
  /** Input properties compared by diff (besides the connection's machine; credentials never are). */
  inputKeys: readonly (keyof I & string)[];
  /** Identity on the host, unique per kind: becomes part of the resource id. */
  identity(inputs: I): string;
  /** Properties whose change the host cannot apply in place (forces replacement). */
  replaces(olds: O, news: I): string[];
  /** Changes that take the host from `actual` to `desired` (pure). Throws PlanError on impossible input. */
  plan(desired: I, actual: HostState, previous: O | undefined): Operation[];
  /** Outputs once the host is converged: `before` is the state before the first change (for restore). */
  outputs(desired: I, after: HostState, before: HostState, previous: O | undefined): O;
  /** What the host has now in this resource's terms; undefined when the object is gone. */
  observe(current: O, actual: HostState): O | undefined;
  /** Changes that remove what this resource owns and restore what it changed (pure). */
  remove(current: O, actual: HostState): Operation[];
  /**
   * Plans refused at preview from what the last read recorded in the outputs (a host's network
   * manager that would undo them), as {property, reason}; the host is not contacted.
   */
  refuse?(olds: O, news: I): CheckFailure[];
  /** Sysctl keys the resource reads, so the host's probe includes them. */
  sysctlKeys?(current: I | O): string[];
}

/** Stable JSON: object keys sorted, undefined dropped, so equal values compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * The input keys whose values differ between old outputs and new inputs. Of the connection only
 * the machine counts; credentials (privateKey, user, key paths, host keys) are how we log in,
 * not desired state: a rotated key must not update every resource.
 */
export function changedKeys<I extends Hosted>(keys: readonly string[], olds: Record<string, unknown>, news: I): string[] {
  const changed = keys.filter((key) => canonicalJson(olds[key]) !== canonicalJson((news as Record<string, unknown>)[key]));
  return sameMachine(olds["connection"] as Connection | undefined, news.connection) ? changed : ["connection", ...changed];
}

/** Whether two connections reach the same machine (else the resource must be replaced). */
function sameMachine(a: Connection | undefined, b: Connection): boolean {
  return a !== undefined && machineOf(a) === machineOf(b);
}

/** The credentials part of a resource's inputs. */
function loginOf(inputs: Hosted): Login {
  return { connection: inputs.connection, privateKey: inputs.privateKey };
}

/** Pulumi's marker for a value not known until apply (preview of computed inputs). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Drops the engine's own `__provider` input so strict schemas see only the user's inputs. */
export function userInputs(raw: unknown): Record<string, unknown> {
  const { __provider: _ignored, ...rest } = (raw ?? {}) as Record<string, unknown>;
  return rest;
}

function valueAt(root: unknown, property: string): unknown {
  let value: unknown = root;
  for (const part of property.split(/\.|\[|\]/).filter(Boolean)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The given input keys of raw inputs or stored outputs (outputs carry extras strict schemas refuse). */
export function inputsFrom(raw: unknown, keys: readonly string[]): Record<string, unknown> {
  const all = userInputs(raw);
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (all[key] !== undefined) picked[key] = all[key];
  return picked;
}

/**
 * A dynamic provider's `check`: the schema, then the local files of the resource's connections
 * (at `paths`), all reported as `{property, reason}`; values unknown at preview are judged later.
 */
export function checkInputs<T>(schema: z.ZodType<T>, rawNews: unknown, connections: (inputs: T) => Array<[string, Connection]>, projectRoot: string) {
  const news = userInputs(rawNews);
  const result = validate(schema, news);
  if (result.ok) {
    const files = connections(result.value).flatMap(([path, connection]) =>
      connectionFileProblems(connection, projectRoot).map((p) => ({ property: `${path}.${p.property}`, reason: p.reason })),
    );
    return files.length ? { inputs: news, failures: files } : { inputs: result.value };
  }
  const failures = result.failures.filter((f) => valueAt(news, f.property) !== UNKNOWN);
  return failures.length ? { inputs: news, failures } : { inputs: news };
}

/** Builds the Pulumi dynamic provider for a resource definition. */
export function dynamicProviderFor<I extends Hosted, O extends I>(def: ResourceDefinition<I, O>, context: ProviderContext): pulumi.dynamic.ResourceProvider {
  const parse = (raw: unknown): I => parseOrThrow(def.kind, def.schema, userInputs(raw));
  const inputNames = ["connection", "privateKey", ...def.inputKeys];
  const inputsOf = (props: unknown): I => parse(inputsFrom(props, inputNames));
  const idOf = (inputs: I) => `${hostKeyOf(inputs.connection)}/${def.identity(inputs)}`;
  // The object on the host, whoever logs in: the same for two URNs that manage the same thing.
  const objectOf = (inputs: I) => `${def.kind} ${def.identity(inputs)} on ${machineOf(inputs.connection)}`;

  const keysOf = (current: I | O): string[] => def.sysctlKeys?.(current) ?? [];

  /** Warns (once) when a new URN declares an object a resource of the state already manages. */
  async function warnAdoption(object: string, by: { stored: string } | "declared"): Promise<void> {
    const stored = context.sighted(object, by);
    if (stored === undefined) return;
    await warn(
      `a new resource declares ${object}, which the stack's resource ${stored} already manages. ` +
        "If it was renamed without aliases, up creates the new URN (adopting the object) and then deletes the old one, " +
        "which leaves the object on the host; add `aliases` with the old name to keep one resource and its history.",
    );
  }

  /** Plans and applies in the host's queue (with other resources' change sets when they can share it), then reads back and verifies convergence. */
  async function converge(desired: I, previous: O | undefined): Promise<O> {
    const session = context.sessionFor(desired.connection, desired.privateKey);
    const keys = [...keysOf(desired), ...(previous ? keysOf(previous) : [])];
    return session.change({
      keys,
      plan: (actual) => def.plan(desired, actual, previous),
      what: `${def.kind} ${def.identity(desired)}`,
      settle: async (before, changes) => {
        const after = changes.length > 0 ? await session.state(keys) : before;
        const outs = def.outputs(desired, after, before, previous);
        const seen = def.observe(outs, after);
        const mismatched = seen ? def.inputKeys.filter((k) => canonicalJson(seen[k]) !== canonicalJson(outs[k])) : ["(missing)"];
        if (mismatched.length > 0) {
          // The state keeps what it had (nothing for a create): take the changes back so the host matches.
          const undone = await undoApplied(session, changes, before);
          throw new PlanError(
            desired.connection,
            `${def.kind} ${def.identity(desired)}`,
            `applied ${changes.length} change(s) but the host does not show the desired ${mismatched.join(", ")}: ` +
              `wanted ${canonicalJson(Object.fromEntries(mismatched.map((k) => [k, outs[k as keyof O]])))}, ` +
              `host has ${canonicalJson(seen ? Object.fromEntries(mismatched.map((k) => [k, seen[k as keyof O]])) : null)}${undone}`,
          );
        }
        // A create that found the object already there adopted it: an old URN's delete later in
        // this operation (a rename) must leave it alone.
        if (!previous && def.observe(outs, before) !== undefined) context.claim(objectOf(desired));
        return outs;
      },
    });
  }

  /** Which resource a call is for, for the profile's trace: its host and identity, as far as the inputs parse. */
  const labelOf = (props: unknown): CallLabel => {
    const parsed = validate(def.schema, inputsFrom(props, inputNames));
    const connection = (userInputs(props)["connection"] ?? {}) as Partial<Connection>;
    return { kind: def.kind, id: parsed.ok ? def.identity(parsed.value) : "?", host: parsed.ok ? hostKeyOf(parsed.value.connection) : String(connection.host ?? "?") };
  };

  const provider: pulumi.dynamic.ResourceProvider = {
    async configure(req: pulumi.dynamic.ConfigureRequest) {
      context.configure(req.config);
    },

    async check(olds: unknown, rawNews: unknown) {
      const checked = checkInputs(def.schema, rawNews, (inputs) => [["connection", inputs.connection]], context.projectRoot);
      // The program's inputs say how it logs in now; a delete later in this operation uses that.
      const valid = validate(def.schema, userInputs(rawNews));
      if (valid.ok) {
        context.noteCurrent(loginOf(valid.value));
        // No old inputs: a new URN. If the state has a resource for the same object, say so now.
        if (Object.keys(userInputs(olds)).length === 0) await warnAdoption(objectOf(valid.value), "declared");
      }
      return checked;
    },

    async diff(_id: string, olds: O, rawNews: unknown) {
      const parsed = validate(def.schema, userInputs(rawNews));
      if (!parsed.ok) return { changes: true };
      const news = parsed.value;
      const refused = def.refuse?.(olds, news) ?? [];
      if (refused.length > 0) throw new PlanError(news.connection, `${def.kind} ${def.identity(news)}`, refused.map((f) => `${f.property}: ${f.reason}`).join("; "));
      const changed = changedKeys(def.inputKeys, olds as unknown as Record<string, unknown>, news);
      const replaces = [...def.replaces(olds, news)];
      if (!sameMachine(olds.connection, news.connection)) replaces.push("connection");
      // The drift seen by refresh (a missing boot part) is repaired by an update.
      const persisted = (olds as unknown as { persisted?: boolean }).persisted;
      return {
        changes: changed.length > 0 || replaces.length > 0 || persisted === false,
        replaces,
        // Remove first only when old and new are the same object on the host; otherwise create
        // the new one first, so a failed create never leaves neither.
        deleteBeforeReplace: olds.connection !== undefined && objectOf(olds as unknown as I) === objectOf(news),
      };
    },

    async create(raw: unknown) {
      const desired = parse(raw);
      context.noteCurrent(loginOf(desired));
      const outs = await converge(desired, undefined);
      return { id: idOf(desired), outs };
    },

    async read(id: string, props?: O) {
      if (!props) throw new Error(`${def.kind} ${id}: nothing is known about it (dynamic resources cannot be imported; declare it and run up to adopt it)`);
      const stored = inputsOf(props);
      const login = context.loginFor(loginOf(stored));
      // Outputs cannot hold undefined (the engine's struct refuses it): drop a key that is gone.
      const { privateKey: _stale, ...rest } = stored;
      const current = { ...rest, connection: login.connection, ...(login.privateKey !== undefined ? { privateKey: login.privateKey } : {}) } as I;
      const session = context.sessionFor(login.connection, login.privateKey);
      const seen = def.observe({ ...props, ...current }, await session.state(keysOf(props)));
      await warnAdoption(objectOf(current), { stored: id });
      // The inputs as the host has them: refresh then diffs them against the program's, so the
      // CLI names each drifted property. The login that worked is kept for destroy.
      return seen ? { id, props: seen, inputs: inputsFrom(seen, inputNames) } : { id: "" };
    },

    async update(_id: string, olds: O, raw: unknown) {
      const desired = parse(raw);
      context.noteCurrent(loginOf(desired));
      const outs = await converge(desired, olds);
      return { outs };
    },

    async delete(id: string, props: O) {
      const current = { ...props, ...inputsOf(props) } as O;
      const object = objectOf(current);
      if (context.claimed(object)) {
        // A new resource created or adopted it in this operation: the engine deletes an old URN
        // after creating its successor (a rename), and never deletes what it just created.
        await warn(
          `${id}: not removing ${object}: a new resource of this stack took it over in this operation ` +
            "(a rename without aliases gives a resource a new URN; add `aliases` with the old name to keep its history). " +
            "Only this resource's entry in the state is dropped.",
        );
        return;
      }
      // A rotated key leaves the state's credentials stale: log in as the program does now.
      const login = context.loginFor(loginOf(current));
      const session = context.sessionFor(login.connection, login.privateKey);
      await session.change({ keys: keysOf(current), plan: (actual) => def.remove(current, actual), what: `remove ${def.kind} ${def.identity(current)}`, settle: async () => undefined });
    },
  };
  return tracedProvider(provider, context.tracer, labelOf);
}
