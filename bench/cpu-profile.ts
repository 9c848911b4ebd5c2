/**
 * `npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top 30]`: what a V8 CPU profile (`node --cpu-prof`, written by
 * `npm run bench:e2e -- --profile <dir>`) spent its time on — self and total time by function, and self time by
 * package or project folder — so a profile can be read without DevTools. Total time counts a function once per
 * sample, however deep it recurses.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';

/** The parts of the `.cpuprofile` format (Chrome DevTools protocol `Profiler.Profile`) this reads. */
interface Profile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const program = new Command('npx tsx bench/cpu-profile.ts')
  .argument('<file>', 'a .cpuprofile')
  .option(
    '--top <n>',
    'rows per table',
    (text: string) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
      return n;
    },
    30,
  )
  .parse();
const [file] = program.args as [string];
const { top } = program.opts<{ top: number }>();

const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

/** A function's name and place: `name  file:line`, the project's root and `file://` left out. */
function frameName(id: number): string {
  const { functionName, url, lineNumber } = (byId.get(id) as Profile['nodes'][number]).callFrame;
  const where = url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '');
  return `${functionName || '(anonymous)'}  ${where === '' ? '' : `${where}:${lineNumber + 1}`}`;
}

/** Where a function's code lives: the package under node_modules, the project's folder, or V8/Node itself. */
function areaOf(id: number): string {
  const { url, functionName } = (byId.get(id) as Profile['nodes'][number]).callFrame;
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1] as string;
  if (path.startsWith('node:')) return 'node:' + path.slice(5).split('/')[0];
  if (path === '') return functionName.startsWith('(') ? functionName : '(native)';
  const relative = path.replace(`${process.cwd()}/`, '');
  return relative.split('/').slice(0, 2).join('/');
}

const self = new Map<string, number>();
const total = new Map<string, number>();
const area = new Map<string, number>();
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
let all = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  all += us;
  add(self, frameName(id), us);
  add(area, areaOf(id), us);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = frameName(at);
    if (!seen.has(name)) add(total, name, us);
    seen.add(name);
  }
});

function print(title: string, map: Map<string, number>): void {
  console.log(`\n${title}`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, us] of rows) {
    console.log(
      `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / all).toFixed(1).padStart(5)} %  ${name}`,
    );
  }
}

console.log(`${file}: ${(all / 1e6).toFixed(2)} s sampled`);
print('self time by area', area);
print('self time by function', self);
print('total time by function', total);
