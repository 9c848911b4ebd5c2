/**
 * `npm run bench`: every benchmark, one after the other, each in its own process (they measure RSS and must not
 * share a heap). Prints each one's figures as it goes and fails when any of them misses its target.
 */
import { spawnSync } from 'node:child_process';

const benchmarks = ['bench:sandbox', 'bench:extract', 'bench:load', 'bench:e2e'] as const;
const failed: string[] = [];
for (const name of benchmarks) {
  process.stdout.write(`\n=== npm run ${name}\n`);
  const result = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (result.status !== 0) failed.push(name);
}
process.stdout.write(
  `\n${failed.length === 0 ? 'every benchmark met its targets' : `missed: ${failed.join(', ')}`}\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
