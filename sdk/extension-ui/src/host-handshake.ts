/**
 * Offers a channel to the document now in the frame: posts the protocol's `init` with a fresh
 * MessagePort, again with backoff until one port answers `ready` (the UI's script may start
 * listening after the frame's load event), then keeps that port and closes every other offer.
 *
 * Why `postMessage(init, '*')` is safe, and the only message ever posted to a window:
 * - it is unavoidable: the frame's origin is opaque (sandbox without allow-same-origin), and no
 *   targetOrigin string names an opaque origin;
 * - the message carries no secret — no CSRF token, no cookie, no header — only a channel id and
 *   the port. Holding the port lets a document ask this host to call *this* extension's endpoints
 *   through the allowlist, which is exactly what the framed document is for;
 * - only the extension itself decides which document sits in its frame: a sandboxed frame (every
 *   other extension's included) may navigate only itself and its own children, never a sibling.
 * Everything after the init travels over the port, so nothing else is ever posted to '*'.
 *
 * @example
 *   const offer = offerChannel({
 *     frameWindow: iframe.contentWindow!, extensionId, limits, timeoutMs: 10_000,
 *     onConnected: (port, channelId) => serveChannel(port, channelId, handlers),
 *     onFailed: () => console.warn('the extension UI never loaded the SDK'),
 *   });
 *   offer.cancel();   // the frame navigated or was destroyed
 */
import { protocolName, protocolVersion, readyMessage, type InitMessage } from './protocol.ts';
import { randomId } from './random-id.ts';

export interface HandshakeOptions {
  frameWindow: Window;
  extensionId: string;
  limits: InitMessage['limits'];
  timeoutMs: number;
  onConnected(port: MessagePort, channelId: string): void;
  onFailed(): void;
}

// Delays between offers: quick at first (the SDK usually listens before the load event), then 1 s.
const backoffMs = [50, 100, 200, 400, 800];
const steadyMs = 1_000;

export function offerChannel(options: HandshakeOptions): { cancel(): void } {
  const offers = new Map<string, MessagePort>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const started = Date.now();

  const finish = (keep?: string) => {
    done = true;
    clearTimeout(timer);
    for (const [id, port] of offers) {
      if (id === keep) continue;
      port.onmessage = null;
      port.close();
    }
    offers.clear();
  };

  const offer = (attempt: number) => {
    if (done) return;
    if (Date.now() - started >= options.timeoutMs) {
      finish();
      options.onFailed();
      return;
    }
    const channelId = randomId();
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (event: MessageEvent) => {
      const ready = readyMessage.safeParse(event.data);
      if (done || !ready.success || ready.data.channelId !== channelId) return;
      finish(channelId);
      // onConnected installs the channel's handler in this same task, so no queued request is lost.
      options.onConnected(port1, channelId);
    };
    offers.set(channelId, port1);
    const init: InitMessage = { protocol: protocolName, version: protocolVersion, type: 'init', channelId, extensionId: options.extensionId, limits: options.limits };
    options.frameWindow.postMessage(init, '*', [port2]);
    const delay = Math.min(backoffMs[attempt] ?? steadyMs, Math.max(0, options.timeoutMs - (Date.now() - started)));
    timer = setTimeout(() => offer(attempt + 1), delay);
  };

  offer(0);
  return { cancel: () => finish() };
}
