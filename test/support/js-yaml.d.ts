// js-yaml ships without types and @types/js-yaml is not installed; the tests use `load` and `dump`.
declare module "js-yaml" {
  export function load(text: string): unknown;
  export function dump(value: unknown): string;
}
