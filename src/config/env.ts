/**
 * The environment variables a source reads, by convention, all prefixed with the upper-cased source name:
 * `MESSAGING_BASE_URL` (base URL), `MESSAGING_CONFIG_TO` (`config['to']`), and for an `auth` written as a bare type
 * name: `MESSAGING_TOKEN`, `MESSAGING_API_KEY`, `MESSAGING_USERNAME`, `MESSAGING_PASSWORD`.
 */

/** `messaging` → `MESSAGING`. */
export function envPrefix(source: string): string {
  return source.toUpperCase();
}

/** The variable overriding `client.base_url`, e.g. `MESSAGING_BASE_URL`. */
export function baseUrlEnvVar(source: string): string {
  return `${envPrefix(source)}_BASE_URL`;
}

/** The variable overriding `config['key']`, e.g. `MESSAGING_CONFIG_TO`. */
export function configEnvVar(source: string, key: string): string {
  return `${envPrefix(source)}_CONFIG_${key.toUpperCase()}`;
}

/** The variable holding a credential of an auth written as a bare type name, e.g. `MESSAGING_API_KEY`. */
export function credentialEnvVar(
  source: string,
  field: 'token' | 'api_key' | 'username' | 'password',
): string {
  return `${envPrefix(source)}_${field.toUpperCase()}`;
}

/** An environment value, or undefined when unset or empty (an empty variable counts as unset). */
export function readEnv(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
