/**
 * A slow HTTP client over a raw TCP socket (slowloris): it sends `head`, then `chunk` every
 * `everyMs` for as long as the server keeps the connection open, and reports when and how the
 * server ended it. `fetch` cannot do this: it always sends a request at full speed.
 *
 * @example
 *   const r = await slowClient(url, { head: 'GET / HTTP/1.1\r\nHost: x\r\n', chunk: 'X-Pad: 1\r\n', everyMs: 100 });
 *   r.response; // 'HTTP/1.1 408 Request Timeout…' or ''
 */
import { connect } from 'node:net';

export interface SlowClientResult {
  /** From connecting to the server closing the connection. */
  closedAfterMs: number;
  /** Whatever the server wrote before closing. */
  response: string;
  /** Bytes of `chunk` the server accepted before closing. */
  chunksSent: number;
}

export function slowClient(url: string, opts: { head: string; chunk: string; everyMs: number; giveUpAfterMs?: number }): Promise<SlowClientResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let response = '';
    let chunksSent = 0;
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(opts.head);
      timer = setInterval(() => {
        if (socket.writable) { socket.write(opts.chunk); chunksSent++; }
      }, opts.everyMs);
    });
    let timer: NodeJS.Timeout | undefined;
    // A server that never cuts the client off fails the test instead of hanging it.
    const giveUp = setTimeout(() => { socket.destroy(); reject(new Error(`the server kept the slow connection open for ${opts.giveUpAfterMs ?? 20_000} ms`)); }, opts.giveUpAfterMs ?? 20_000);
    socket.on('data', (d: Buffer) => { response += d.toString('latin1'); });
    socket.on('error', () => { /* a reset is one way of being cut off; 'close' follows */ });
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, response, chunksSent });
    });
  });
}

/** Sends `request` at full speed on a new connection and resolves with the socket once a whole response arrived. */
export function keepAliveConnection(url: string): Promise<{ send(request: string): Promise<string>; closed: Promise<number>; destroy(): void }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: hostname, port: Number(port) });
    let buffer = '';
    let waiting: ((text: string) => void) | undefined;
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      // Enough for the small JSON answers these tests ask for: headers plus a Content-Length body.
      const end = buffer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(buffer)?.[1];
      if (end >= 0 && length && buffer.length >= end + 4 + Number(length) && waiting) {
        const text = buffer;
        buffer = '';
        const done = waiting;
        waiting = undefined;
        done(text);
      }
    });
    socket.on('error', () => { /* 'close' reports it */ });
    socket.once('connect', () => resolve({
      send: (request) => new Promise((r) => { waiting = r; socket.write(request); }),
      closed,
      destroy: () => socket.destroy(),
    }));
    socket.once('error', reject);
  });
}
