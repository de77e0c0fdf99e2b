// Rules for a functional core: time, randomness, environment and I/O come in as arguments.
import base from "./base.js";

const impure = "is not allowed in a pure package: take it as an argument instead.";

export default [
  ...base,
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        { name: "process", message: `process ${impure}` },
        { name: "fetch", message: `fetch ${impure}` },
        { name: "setTimeout", message: `setTimeout ${impure}` },
        { name: "setInterval", message: `setInterval ${impure}` },
        { name: "performance", message: `performance ${impure}` },
        // Time zones come in as offset tables (src/local-time.ts): the zone database is the platform's.
        { name: "Intl", message: `Intl ${impure}` },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: `Math.random ${impure}` },
        { object: "Date", property: "now", message: `Date.now ${impure}` },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date']", message: `new Date() ${impure}` },
      ],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*", "fs", "path", "os", "http", "https", "net", "child_process"], message: `Node modules are I/O; ${impure}` }] },
      ],
    },
  },
];
