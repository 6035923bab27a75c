import { defineConfig } from "vitest/config";

// Tests import workspace packages from source through the "@corral/source"
// export condition, so `pnpm test` needs no build step.
export default defineConfig({
  resolve: { conditions: ["@corral/source"] },
  ssr: { resolve: { conditions: ["@corral/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
