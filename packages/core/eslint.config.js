import pure from "@nightshift/eslint-config/pure";

export default pure;
