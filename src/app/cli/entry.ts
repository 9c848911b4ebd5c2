/**
 * Whether a module is the process's entry: `node --import tsx src/app/worker.ts` (an npm script) runs it, while the
 * `ingest` CLI imports it and calls its `main(argv)`.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when the module at `moduleUrl` (its `import.meta.url`) is the script node was started with. */
export function isEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(resolve(script)) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
