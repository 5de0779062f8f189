/**
 * Prepares the `lab` test project: root check, the compiled provider (the dynamic-provider
 * process loads dist/), the Pulumi engine, and a fresh lab; tears the lab down afterwards.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { lab, ROOT } from "./harness";

export default function setup(): () => void {
  if (process.getuid?.() !== 0) {
    throw new Error("the lab tests need root (network namespaces, veth, mounts): run them as root, e.g. in CI via .ci/run");
  }
  execFileSync("bash", [join(ROOT, "scripts/build.sh")], { stdio: "inherit" });
  execFileSync("bash", [join(ROOT, "scripts/engine.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  lab("down");
  lab("up");
  return () => {
    lab("down");
  };
}
