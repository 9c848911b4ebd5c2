/**
 * `npm run bench:extract`: the streaming record extractor against reading the whole body and calling `JSON.parse`,
 * on one large `single_page` body (`{"data":[…]}` of ~1 M call records, ~400 MB). Each method runs in its own child
 * process, in the same run, and reports its wall time, records/s and peak RSS; the parent prints a table, the ratio
 * and whether its targets hold (streaming ≤ 1.0× the time of read + `JSON.parse`, peak RSS ≤ 200 MB).
 *
 *   npm run bench:extract -- [--records 1000000] [--runs 1] [--batch-bytes N]
 *
 * Peak RSS is `process.resourceUsage().maxRSS` of each child (MB = 10^6 bytes). The footprint of the same runtime
 * doing nothing (node + tsx) is printed for context: it is part of every child's peak.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extractRecords } from '../src/http/extract/extract-records.ts';
import { fileSize, writeCallRecordsBody } from './extract-data.ts';

const measuredModes = ['parse', 'stream'] as const;
type Mode = (typeof measuredModes)[number] | 'idle';

const modeLabels: Record<Mode, string> = {
  parse: '(a) read whole file + JSON.parse',
  stream: '(b) streaming extractor, 64 KiB chunks, text kept',
  idle: 'runtime alone (node + tsx, idle)',
};

const targetRatio = 1.0;
const targetRssMB = 200;
const chunkBytes = 64 * 1024;

/** What a child reports on its last stdout line. */
interface Measurement {
  readonly mode: Mode;
  readonly ms: number;
  readonly records: number;
  readonly textChars: number;
  readonly maxRssKiB: number;
}

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '1' },
    'batch-bytes': { type: 'string' },
    child: { type: 'string' },
    file: { type: 'string' },
  },
});
const batchBytes = values['batch-bytes'] === undefined ? undefined : Number(values['batch-bytes']);

if (values.child !== undefined) {
  await runChild(values.child as Mode, values.file ?? '');
} else {
  await runParent(Number(values.records), Number(values.runs));
}

async function runParent(records: number, runs: number): Promise<void> {
  if (!Number.isInteger(records) || records < 1) throw new Error('--records must be a positive integer');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const file = await ensureBody(records);
  const bytes = (await fileSize(file)) ?? 0;
  console.log(`body: ${file} — ${records.toLocaleString('en')} records, ${(bytes / 1e6).toFixed(0)} MB`);
  const results = new Map<Mode, Measurement[]>(measuredModes.map((mode) => [mode, []]));
  for (let run = 0; run < runs; run += 1) {
    for (const mode of measuredModes) {
      const measurement = await measureInChild(mode, file);
      if (measurement.records !== records) {
        throw new Error(`${mode} found ${measurement.records} records, expected ${records}`);
      }
      results.get(mode)?.push(measurement);
    }
  }
  const idle = await measureInChild('idle', file);
  const parse = median(results.get('parse') ?? []);
  const stream = median(results.get('stream') ?? []);
  printTable([parse, stream], bytes, runs);
  const ratio = stream.ms / parse.ms;
  const rssMB = megabytes(stream.maxRssKiB);
  console.log('');
  console.log(`${modeLabels.idle}: peak RSS ${megabytes(idle.maxRssKiB).toFixed(0)} MB`);
  console.log(`ratio (b)/(a): ${ratio.toFixed(2)}×`);
  console.log(`target time (b) ≤ ${targetRatio.toFixed(1)}× (a): ${ratio <= targetRatio ? 'PASS' : 'FAIL'}`);
  console.log(
    `target RSS  (b) ≤ ${targetRssMB} MB: ${rssMB <= targetRssMB ? 'PASS' : 'FAIL'} (${rssMB.toFixed(0)} MB)`,
  );
}

/** Generates the body once into the temp directory; reuses it when it exists with the recorded size. */
async function ensureBody(records: number): Promise<string> {
  const file = join(tmpdir(), `durable-ingest-bench-extract-${records}.json`);
  const metaFile = `${file}.meta.json`;
  const size = await fileSize(file);
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { bytes?: number };
    if (size !== undefined && meta.bytes === size) return file;
  } catch {
    // No usable meta file: generate.
  }
  console.log(`generating ${records.toLocaleString('en')} call records into ${file} …`);
  const partial = `${file}.partial`;
  const bytes = await writeCallRecordsBody(partial, records);
  await rename(partial, file);
  await writeFile(metaFile, JSON.stringify({ records, bytes }));
  return file;
}

function measureInChild(mode: Mode, file: string): Promise<Measurement> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, '--child', mode, '--file', file];
  if (batchBytes !== undefined) args.push('--batch-bytes', String(batchBytes));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${mode} child exited with ${code}: ${out}`));
      else resolve(JSON.parse(last) as Measurement);
    });
  });
}

async function runChild(mode: Mode, file: string): Promise<void> {
  const started = performance.now();
  let records = 0;
  let textChars = 0;
  if (mode === 'parse') {
    const body = await readFile(file, 'utf8');
    const data = (JSON.parse(body) as { data: unknown[] }).data;
    records = data.length;
  } else if (mode === 'stream') {
    const body = createReadStream(file, { highWaterMark: chunkBytes });
    const extraction = extractRecords(body, { selector: 'data', batchBytes });
    for await (const batch of extraction) {
      records += batch.records.length;
      for (const record of batch.records) textChars += record.text.length;
    }
  }
  const measurement: Measurement = {
    mode,
    ms: performance.now() - started,
    records,
    textChars,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  console.log(JSON.stringify(measurement));
}

function median(measurements: readonly Measurement[]): Measurement {
  const sorted = [...measurements].sort((a, b) => a.ms - b.ms);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no measurement');
  return middle;
}

function printTable(rows: readonly Measurement[], bytes: number, runs: number): void {
  console.log('');
  console.log(
    `| method | time | records/s | MB/s | peak RSS |${runs > 1 ? ` (median of ${runs} runs)` : ''}`,
  );
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    const seconds = row.ms / 1000;
    const rate = Math.round(row.records / seconds).toLocaleString('en');
    const throughput = (bytes / 1e6 / seconds).toFixed(0);
    const rss = megabytes(row.maxRssKiB).toFixed(0);
    console.log(
      `| ${modeLabels[row.mode]} | ${seconds.toFixed(2)} s | ${rate} | ${throughput} | ${rss} MB |`,
    );
  }
}

function megabytes(kibibytes: number): number {
  return (kibibytes * 1024) / 1e6;
}
