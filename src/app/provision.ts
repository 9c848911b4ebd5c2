/**
 * `npm run provision`: makes sure the pinned Temporal CLI is in the cache (building it if needed) and prints its
 * path. CI runs it early, beside `npm ci`, so the slow first build overlaps the install.
 */
import { describeError } from '../errors.ts';
import { resolveTemporalCli } from '../local/temporal-cli.ts';
import { readSettings } from './settings.ts';

try {
  const cli = await resolveTemporalCli({
    settings: readSettings().temporalCli,
    onProgress: (line) => console.error(line),
  });
  const how =
    cli.source === 'built' ? `built in ${((cli.buildMs ?? 0) / 1000).toFixed(1)} s` : `from ${cli.source}`;
  console.log(`temporal CLI: ${cli.path} (${how})`);
} catch (error) {
  console.error(describeError(error));
  process.exitCode = 1;
}
