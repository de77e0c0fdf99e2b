import base from "@nightshift/eslint-config/base";

export default base;
