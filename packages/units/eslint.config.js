// Browser-safe: the vehicle page bundles this package, so no Node modules.
import base from "@nightshift/eslint-config/base";

export default [
  ...base,
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*"], message: "browser-safe: Intl only, no Node modules" }] },
      ],
      "no-restricted-globals": ["error", { name: "process", message: "browser-safe: no process" }],
    },
  },
];
