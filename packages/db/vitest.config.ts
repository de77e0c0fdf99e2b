import base from "@nightshift/vitest-config/base";

export default base;
