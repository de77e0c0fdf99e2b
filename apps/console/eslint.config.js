import base from "@nightshift/eslint-config/base";

export default [...base, { ignores: ["next-env.d.ts", "test-results/**"] }];
