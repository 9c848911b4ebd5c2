/**
 * Whether a host is a private, loopback or link-local address (or a name for one, once resolved): where a redirect
 * from a public API must not lead — the cloud metadata service (169.254.169.254), the machine itself, the internal
 * network. A request whose own origin is already such an address (a local test API, an internal service) may be
 * redirected within that world.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

function privateV4(address: string): boolean {
  const [a = 0, b = 0] = address.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) // carrier-grade NAT
  );
}

function privateV6(address: string): boolean {
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '::') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped?.[1] !== undefined) return privateV4(mapped[1]);
  return /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

/** True for an IP literal in a private, loopback, link-local or unspecified range. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const kind = isIP(bare);
  if (kind === 4) return privateV4(bare);
  if (kind === 6) return privateV6(bare);
  return false;
}

/** True when `host` is, or resolves to, a private address (`localhost` included). A name that does not resolve is not. */
export async function resolvesToPrivate(host: string): Promise<boolean> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return isPrivateAddress(bare);
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  try {
    const addresses = await lookup(bare, { all: true });
    return addresses.some((entry) => isPrivateAddress(entry.address));
  } catch {
    return false;
  }
}
