/**
 * Every connection the app makes to a Temporal it did not start goes through here, so that TLS, mTLS, an API key
 * and gRPC metadata from the client config profile (`client-config.ts`, read by `readSettings`) reach the client
 * (`Connection`) and the worker (`NativeConnection`) alike. A target without `connection` (the dev server the app
 * starts itself) is reached plainly.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { securedConnectionOptions, type TemporalConnectOptions } from '../../local/temporal-server.ts';

/** A Temporal to connect to: its frontend, the namespace, and TLS/credentials when it is secured. */
export interface TemporalTarget {
  /** `host:port` of the frontend. */
  readonly address: string;
  readonly namespace: string;
  /** From the settings (`Settings.temporal.connection`); absent for a plain connection. Holds the API key. */
  readonly connection?: TemporalConnectOptions | undefined;
}

/** Options of `Connection.connect` (clients) for `target`; `connectTimeoutMs` bounds the first connection. */
export function clientConnectionOptions(
  target: TemporalTarget,
  extra: { readonly connectTimeoutMs?: number } = {},
): ConnectionOptions {
  return {
    address: target.address,
    ...(extra.connectTimeoutMs === undefined ? {} : { connectTimeout: extra.connectTimeoutMs }),
    ...securedConnectionOptions(target.connection),
  };
}

/** Options of `NativeConnection.connect` (workers) for `target`. */
export function workerConnectionOptions(target: TemporalTarget): NativeConnectionOptions {
  return { address: target.address, ...securedConnectionOptions(target.connection) };
}

/** A client connection to `target`; close it when done. */
export function connectClient(
  target: TemporalTarget,
  extra: { readonly connectTimeoutMs?: number } = {},
): Promise<Connection> {
  return Connection.connect(clientConnectionOptions(target, extra));
}

/** A worker connection to `target`; close it after the worker has shut down. */
export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(workerConnectionOptions(target));
}
