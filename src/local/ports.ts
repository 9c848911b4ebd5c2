/** Port choice for local services: a preferred port (stable links across restarts) when free, else any free one. */
import getPort, { portNumbers } from 'get-port';

export const loopback = '127.0.0.1';

/** A free loopback port: `preferred` or one of the 20 after it when given and free, otherwise any. */
export function freePort(preferred?: number, exclude: readonly number[] = []): Promise<number> {
  return getPort({
    host: loopback,
    exclude,
    ...(preferred === undefined ? {} : { port: portNumbers(preferred, preferred + 20) }),
  });
}
