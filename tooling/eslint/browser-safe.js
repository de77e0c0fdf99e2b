// For packages that browsers bundle (the console, the vehicle page and its Web Worker): their
// sources may import no Node modules and read no `process`.
import base from "./base.js";

export default [
  ...base,
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*"], message: "browser-safe: no Node modules" }] },
      ],
      "no-restricted-globals": ["error", { name: "process", message: "browser-safe: no process" }],
    },
  },
];
