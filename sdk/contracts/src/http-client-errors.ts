/**
 * Answers for requests Node's HTTP parser refuses before any route sees them (a CR or LF or NUL
 * in a header, a bad method, headers past the size limit, a client too slow with its headers),
 * in the platform's error shape: `{ error: { code, message } }` with a stable code, where Node's
 * default answer is a bare status line. The statuses stay Node's: 431, 408, else 400.
 *
 * @example
 *   const server = createServer(options, app);
 *   answerClientErrors(server);
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorCatalog, type ErrorCode } from './errors.ts';

const reasons: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function classify(code: string | undefined): ErrorCode {
  if (code === 'HPE_HEADER_OVERFLOW') return 'E_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'E_REQUEST_TIMEOUT';
  return 'E_BAD_REQUEST';
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset, or a response already under way (Node's own rule): nothing can be said on this connection.
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { bytesWritten?: number }).bytesWritten !== 0) {
      socket.destroy();
      return;
    }
    const code = classify(err.code);
    const { status } = errorCatalog[code];
    const message = code === 'E_BAD_REQUEST' ? 'malformed HTTP request (a header with CR, LF or NUL, an invalid method or path, or bad framing)' : errorCatalog[code].message;
    const body = JSON.stringify({ error: { code, message } });
    socket.end(`HTTP/1.1 ${status} ${reasons[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
