// Browser-safe: the console and the vehicle page bundle this package, so no Node modules.
import browserSafe from "@nightshift/eslint-config/browser-safe";

export default browserSafe;
