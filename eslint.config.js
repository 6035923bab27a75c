// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Pure deterministic cores: everything non-deterministic must come in through
// the injected Clock / Random / Network / Storage / Logger (DESIGN.md §3).
const determinism = {
  "no-restricted-properties": [
    "error",
    { object: "Date", property: "now", message: "Use the injected Clock." },
    { object: "Math", property: "random", message: "Use the injected Random." },
    { object: "performance", property: "now", message: "Use the injected Clock." },
  ],
  "no-restricted-globals": [
    "error",
    { name: "setTimeout", message: "Use timers from the injected Clock." },
    { name: "setInterval", message: "Use timers from the injected Clock." },
    { name: "setImmediate", message: "Use the scheduler of the injected Clock." },
    { name: "console", message: "Use the injected Logger." },
  ],
  "no-restricted-syntax": [
    "error",
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "Use the injected Clock." },
  ],
  "no-console": "error",
};

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "coverage/**", ".corral/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", Buffer: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", queueMicrotask: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", URL: "readonly", performance: "readonly", AbortController: "readonly", AbortSignal: "readonly", structuredClone: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
    },
  },
  // Cores: no wall clock, no Math.random, no timers, no console.
  {
    files: ["packages/consensus/src/**/*.ts", "packages/tree/src/**/*.ts", "packages/protocol/src/**/*.ts"],
    ignores: ["packages/consensus/src/storage-file.ts"],
    rules: determinism,
  },
  // Actor runtime and node code: only the live adapters may touch real time.
  {
    files: ["packages/actors/src/**/*.ts", "packages/server/src/**/*.ts", "packages/client/src/**/*.ts", "packages/recipes/src/**/*.ts"],
    ignores: ["**/*-live.ts", "**/network-redis.ts", "**/main.ts", "**/admin-http.ts"],
    rules: determinism,
  },
);
