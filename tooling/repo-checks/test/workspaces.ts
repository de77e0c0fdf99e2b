// The repository as the checks read it: its root, its manifests and its workspaces' folders.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface Manifest {
  name?: string;
  workspaces?: string[];
  engines?: { node?: string };
  allowScripts?: Record<string, boolean>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

export const rootManifest = readJson<Manifest>(join(ROOT, "package.json"));

/** The folders of the root's workspaces, from its globs (each one "folder/*"). */
export function workspaceFolders(): string[] {
  return (rootManifest.workspaces ?? []).flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, "");
    return readdirSync(join(ROOT, parent))
      .map((name) => `${parent}/${name}`)
      .filter((dir) => existsSync(join(ROOT, dir, "package.json")));
  });
}
