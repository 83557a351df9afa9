/**
 * Request bodies read with a bound: a body over its limit is refused without being read, and its connection
 * closed the way web servers do, so one huge upload costs neither memory nor other clients' time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A body over its limit: answered with the protocol's too-large error, without reading the rest. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than localcloud accepts (${limit} bytes)`);
  }
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length above the limit is refused before a byte is
 * read; a body that grows past it (chunked) is refused as soon as it does, and nothing more is kept.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      req.off('data', onData);
      reject(new BodyTooLarge(limit));
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** After refusing a body, how much more of it is read (and dropped) before the connection is cut, at most. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 2000;

/**
 * Answers a request whose body is refused unread, then closes its connection as web servers do ("lingering
 * close"): the answer goes out, the connection is half-closed, and what the client is still sending is dropped
 * unbuffered for a bounded time and amount before the connection is cut. Cutting it at once would make the kernel
 * reset it, and a client still uploading would see a dropped connection instead of the answer.
 */
export function refuseAndClose(req: IncomingMessage, res: ServerResponse, write: () => void): void {
  req.pause();
  res.once('finish', () => {
    const socket = req.socket;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    let dropped = 0;
    req.removeAllListeners('data');
    req.on('data', (c: Buffer) => {
      dropped += c.length;
      if (dropped > LINGER_BYTES) socket.destroy();
    });
    req.resume();
  });
  write();
}

