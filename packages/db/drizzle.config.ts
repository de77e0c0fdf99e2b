// drizzle-kit's settings: `npm run db:generate` writes a migration for the change in src/schema.ts.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  schema: "./src/schema.ts",
  out: "./migrations",
  dialect: "postgresql",
  casing: "snake_case",
});
