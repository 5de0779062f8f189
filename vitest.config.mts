import { defineConfig } from "vitest/config";

// Two projects: `unit` is pure (recorded outputs, no host), `lab` drives the real lab servers
// over SSH and the real Pulumi CLI, one file at a time because the lab is shared.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/provider/**/*.test.ts", "test/stacks/**/*.test.ts", "test/scripts/**/*.test.ts", "test/bench/**/*.test.ts", "test/package/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts", "test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/lab/globalSetup.ts"],
          fileParallelism: false,
          sequence: { concurrent: false },
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
