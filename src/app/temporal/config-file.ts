/**
 * The Temporal config file a process reads and the profile it takes from it, with the `TEMPORAL_*` variables over
 * that profile — as the `temporal` CLI and the SDK's loader (`@temporalio/envconfig`) do. The file is
 * `TEMPORAL_CONFIG_FILE`, or the default one: `$XDG_CONFIG_HOME/temporalio/temporal.toml` when XDG_CONFIG_HOME is set
 * (an absolute path), else `~/.config/temporalio/temporal.toml` (`~/Library/Application Support/temporalio/…` on
 * macOS, `%APPDATA%\temporalio\…` on Windows). It is located and read here rather than by the loader so that every
 * message, and what `npm start` prints, names the actual file; and so that a file without any `[profile.*]` table
 * (empty, comments only, /dev/null) counts as a file with no profiles instead of a broken one.
 */
import { readFileSync } from 'node:fs';
import { platform } from 'node:os';
import { isAbsolute, join } from 'node:path';
// The loader's raw TOML layer (internal to the package, which is why package.json pins it exactly) rather than its
// public, typed one: the typed profile drops `disable_host_verification` (which the TypeScript SDK cannot honour, so
// client-config.ts refuses it rather than ignore it), and the typed file converts every profile, so that one
// profile's mistake would fail a process using another and the profile names could not be listed on their own.
import {
  tomlLoadClientConfig,
  tomlLoadClientConfigProfile,
  type TomlClientConfigProfile,
} from '@temporalio/envconfig/lib/envconfig-toml.js';
import { IngestError } from '../../errors.ts';

/** A profile as the file spells it (snake_case keys), with the variables applied over it. */
export type RawProfile = TomlClientConfigProfile;

export interface ConfigFile {
  /** The file's path; undefined when there is no default location (no HOME, or a relative XDG_CONFIG_HOME). */
  readonly path: string | undefined;
  /** Its text; undefined when there is no file (the default one may be missing: TEMPORAL_CONFIG_FILE may not). */
  readonly text: string | undefined;
  /** The file, for messages: its path, said to be the default when TEMPORAL_CONFIG_FILE did not name it. */
  readonly label: string;
}

/** The config file `env` points to; a TEMPORAL_CONFIG_FILE that cannot be read is a `SETTING_INVALID` error. */
export function readConfigFile(env: Readonly<Record<string, string>>): ConfigFile {
  const named = env['TEMPORAL_CONFIG_FILE'];
  if (named !== undefined) {
    try {
      return { path: named, text: readFileSync(named, 'utf8'), label: named };
    } catch (error) {
      throw settingError(`TEMPORAL_CONFIG_FILE is "${named}", which cannot be read (${fileProblem(error)})`);
    }
  }
  const path = defaultConfigPath(env);
  if (path === undefined)
    return { path, text: undefined, label: 'the default Temporal config file (no HOME)' };
  const label = `${path} (the default Temporal config file)`;
  try {
    return { path, text: readFileSync(path, 'utf8'), label };
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code === 'ENOENT') return { path, text: undefined, label };
    throw settingError(`${label} cannot be read (${fileProblem(error)})`);
  }
}

/** Where the SDK's loader and the `temporal` CLI look when TEMPORAL_CONFIG_FILE is not set (from `env` only). */
function defaultConfigPath(env: Readonly<Record<string, string>>): string | undefined {
  const file = (dir: string | undefined) => (dir ? join(dir, 'temporalio', 'temporal.toml') : undefined);
  switch (platform()) {
    case 'win32':
      return file(env['APPDATA']);
    case 'darwin':
      return file(env['HOME'] && join(env['HOME'], 'Library', 'Application Support'));
    default: {
      const xdg = env['XDG_CONFIG_HOME'];
      if (xdg) return isAbsolute(xdg) ? file(xdg) : undefined;
      return file(env['HOME'] && join(env['HOME'], '.config'));
    }
  }
}

/**
 * The profile `TEMPORAL_PROFILE` names (default `default`) of `file`, with the variables of `env` over it. A profile
 * named but missing, TOML that does not parse, or a file that is not a client config file is a `SETTING_INVALID`
 * error naming the file; a file with no profile at all, or without the `default` profile, gives the variables alone.
 */
export function loadRawProfile(file: ConfigFile, env: Readonly<Record<string, string>>): RawProfile {
  const profiles =
    file.text === undefined
      ? undefined
      : parse(file.label, () => tomlLoadClientConfig({ configSource: { data: file.text ?? '' } }).profile);
  if (profiles !== undefined && (typeof profiles !== 'object' || Array.isArray(profiles)))
    throw notAConfig(file);
  const name = env['TEMPORAL_PROFILE'];
  if (name !== undefined && (profiles === undefined || !Object.hasOwn(profiles, name))) {
    const names = Object.keys(profiles ?? {});
    throw settingError(
      `TEMPORAL_PROFILE is "${name}", but ${file.label} ${
        file.text === undefined
          ? 'does not exist'
          : names.length === 0
            ? 'has no profile'
            : `has only ${names.map((known) => `"${known}"`).join(', ')}`
      }`,
    );
  }
  // Without a profile table the loader would fail on the file: it is read as none, the variables alone.
  const options =
    profiles === undefined ? { disableFile: true } : { configSource: { data: file.text ?? '' } };
  return parse(file.label, () => tomlLoadClientConfigProfile({ ...options, overrideEnvVars: { ...env } }));
}

/**
 * Runs a load of the config file, turning its failures into settings errors. A TOML error is reported by line and
 * column only: the parser's own message quotes the offending line, which may hold an API key.
 */
function parse<T>(label: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    const { line, column } = (error ?? {}) as { line?: unknown; column?: unknown };
    if (typeof line === 'number' && typeof column === 'number')
      throw settingError(`${label} is not valid TOML (line ${line}, column ${column})`);
    throw notAConfig({ label });
  }
}

function notAConfig(file: Pick<ConfigFile, 'label'>): IngestError {
  return settingError(
    `${file.label} is not a Temporal client config file ([profile.<name>] tables, as \`temporal config\` writes)`,
  );
}

const fileProblems: Readonly<Record<string, string>> = {
  ENOENT: 'it does not exist',
  EACCES: 'permission denied',
  EISDIR: 'it is a folder',
};

/** Why a file could not be read, in words (its error code otherwise). */
export function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? (fileProblems[code] ?? code) : 'unreadable';
}

function settingError(message: string): IngestError {
  return new IngestError('environment', 'SETTING_INVALID', message);
}
