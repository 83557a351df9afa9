import { createServer, type Server } from 'node:net';

/** A port localcloud was asked to listen on that another process already listens on. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
    /** What the port was for, e.g. `AWS endpoint` or `HTTP API`. */
    readonly what: string,
  ) {
    super(`port ${port} (${what}) is already in use on ${host}, by another local stage or another program`);
    this.name = 'PortInUseError';
  }
}

/**
 * Listens `server` on `port`, turning EADDRINUSE into {@link PortInUseError} (other errors pass through).
 *
 * @example
 * await listenOn(server, 4566, '127.0.0.1', 'AWS endpoint'); // PortInUseError: port 4566 (AWS endpoint) is already in use …
 */
export async function listenOn(server: Pick<Server, 'once' | 'off' | 'listen'>, port: number, host: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new PortInUseError(port, host, what) : e);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/**
 * Throws {@link PortInUseError} for the first of `ports` that something listens on (port 0, any free port, is
 * skipped). A check before a stage touches its data, so that a busy port costs nothing; the real listen still says
 * the same if the port is taken in between.
 *
 * @example
 * await assertPortsFree([{ port: 4566, what: 'AWS endpoint' }, { port: 3000, what: 'HTTP API' }]);
 */
export async function assertPortsFree(ports: { port: number; what: string }[], host = '127.0.0.1'): Promise<void> {
  for (const { port, what } of ports) {
    if (port === 0) continue;
    const probe = createServer();
    await listenOn(probe, port, host, what);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}
