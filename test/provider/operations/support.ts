/** What the family tests check together: how an operation renders, whether it may cut, its inverse. */
import { expect } from "vitest";
import { describe as describeOp, inverseOf, mayCutSession, render, type Operation, type Rendered } from "../../../provider/operations";
import type { HostState } from "../../../provider/state/types";

/** Asserts an operation's rendering, may-cut and inverse (as renderings) in one go. */
export function expectOperation(op: Operation, before: HostState, want: { render: Rendered; mayCut: boolean; inverse: Rendered[] }): void {
  expect(render(op)).toEqual(want.render);
  expect(mayCutSession(op)).toBe(want.mayCut);
  expect(inverseOf(op, before).map(render)).toEqual(want.inverse);
  expect(describeOp(op)).not.toBe("");
}
