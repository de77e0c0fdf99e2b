// Browser-safe: the console bundles this package, so no Node modules.
import browserSafe from "@nightshift/eslint-config/browser-safe";

export default browserSafe;
