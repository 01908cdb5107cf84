/**
 * The iframe side of the bridge: waits for the host page's `init`, adopts the MessagePort it
 * transfers, and then runs every call over that port with a request id and a timeout.
 *
 * Handshake checks (the only window message the client ever reads):
 * - the page is framed, and `event.source === window.parent` — a sibling frame or a popup that
 *   posts a forged init into this window is ignored;
 * - `event.origin` is the platform origin named by the page URL's `alga-parent-origin` parameter
 *   (or `expectedParentOrigin`), and never `'null'`; without either, the first init's origin is
 *   pinned (the gateway's `frame-ancestors` already limits who can be the parent);
 * - the data is an `init` of this protocol with exactly one transferred port.
 * The client then stops listening to window messages altogether, so after the handshake no other
 * window can reach it, and it never posts to a window at all (before the init it has nothing to
 * say, after it everything goes over the port). Every port message must still parse and carry
 * the channel id.
 *
 * @example
 *   const bridge = new BridgeClient();   // normally the shared one in client.ts
 *   bridge.onReady(({ extensionId }) => console.log('connected to', extensionId));
 *   const result = await bridge.request({ op: 'proxy', route: '/hello', method: 'GET' }, 5000);
 */
import * as z from 'zod/mini';
import { ExtensionUiError } from './errors.ts';
import {
  hostMessage, initMessage, maxTimeoutMs, parentOriginParam,
  type ClientMessage, type InitMessage, type ProxyResult, type RequestMessage,
} from './protocol.ts';

// The UI's CSP has no 'unsafe-eval': without this zod probes `new Function` and the browser reports
// a CSP violation for every frame. Jitless parsing is the only kind that can run here anyway.
z.config({ jitless: true });

export interface BridgeClientOptions {
  /** The window the client runs in; default `window`. */
  window?: Window;
  /** The platform origin the init must come from; default: the `alga-parent-origin` URL parameter. */
  expectedParentOrigin?: string;
}

export interface ReadyInfo {
  extensionId: string;
  /** The platform origin the client pinned. */
  parentOrigin: string;
}

type State = 'waiting' | 'connected' | 'closed';
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request as a caller writes it; the connection adds type, channel and id. */
export type Outgoing = DistributiveOmit<RequestMessage, 'type' | 'channelId' | 'id'>;

interface Pending {
  message: Outgoing;
  resolve(result: ProxyResult | null): void;
  reject(err: ExtensionUiError): void;
  timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

export class BridgeClient {
  private readonly win: Window;
  private readonly expectedOrigin: string | undefined;
  private state: State = 'waiting';
  private closedReason = '';
  private port: MessagePort | undefined;
  private init: InitMessage | undefined;
  private parentOrigin = '';
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private readyCallbacks: Array<(info: ReadyInfo) => void> = [];
  private readonly onWindowMessage = (event: MessageEvent) => this.handshake(event);

  constructor(options: BridgeClientOptions = {}) {
    this.win = options.window ?? window;
    const fromUrl = new URL(this.win.location.href).searchParams.get(parentOriginParam) ?? undefined;
    this.expectedOrigin = options.expectedParentOrigin ?? fromUrl;
    if (this.win.parent === this.win) {
      this.close('this page is not framed by the Alga host page: open it from the admin UI');
    } else if (this.expectedOrigin !== undefined && !isOrigin(this.expectedOrigin)) {
      // A malformed expectation fails closed rather than falling back to trust-on-first-use.
      this.close(`${parentOriginParam} ${JSON.stringify(this.expectedOrigin)} is not an origin`);
    } else {
      this.win.addEventListener('message', this.onWindowMessage);
    }
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * Calls `cb` once the handshake is done (on a later tick when it already is); never when the
   * page is not framed. Returns an unsubscribe.
   */
  onReady(cb: (info: ReadyInfo) => void): () => void {
    if (this.state === 'connected') {
      const info = this.readyInfo();
      queueMicrotask(() => cb(info));
      return () => {};
    }
    this.readyCallbacks.push(cb);
    return () => { this.readyCallbacks = this.readyCallbacks.filter((c) => c !== cb); };
  }

  /**
   * Sends one request and waits for its answer. Calls made before the handshake wait for it
   * within the same timeout; the timeout then reads E_NOT_CONNECTED instead of E_TIMEOUT.
   */
  request(message: Outgoing, timeoutMs: number): Promise<ProxyResult | null> {
    if (this.state === 'closed') return Promise.reject(new ExtensionUiError('E_NOT_CONNECTED', this.closedReason));
    const id = String(++this.nextId);
    const wait = Math.min(Math.max(1, Math.floor(timeoutMs)), maxTimeoutMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const entry = this.pending.get(id);
        this.pending.delete(id);
        reject(entry?.sent
          ? new ExtensionUiError('E_TIMEOUT', `no answer for ${describe(message)} within ${wait} ms`)
          : new ExtensionUiError('E_NOT_CONNECTED', `no host bridge answered within ${wait} ms: is this page framed by the Alga host page?`));
      }, wait);
      const entry: Pending = { message: { ...message, ...(message.op === 'proxy' ? { timeoutMs: wait } : {}) }, resolve, reject, timer, sent: false };
      this.pending.set(id, entry);
      if (this.state === 'connected') this.send(id, entry);
    });
  }

  private handshake(event: MessageEvent): void {
    if (this.state !== 'waiting') return;
    if (event.source !== this.win.parent) return;
    if (event.origin === 'null' || (this.expectedOrigin !== undefined && event.origin !== this.expectedOrigin)) return;
    const parsed = initMessage.safeParse(event.data);
    if (!parsed.success || event.ports.length !== 1) return;
    this.win.removeEventListener('message', this.onWindowMessage);
    this.init = parsed.data;
    this.parentOrigin = event.origin;
    this.port = event.ports[0];
    this.port.onmessage = (e) => this.receive(e);
    this.state = 'connected';
    this.post({ type: 'ready', channelId: parsed.data.channelId });
    for (const [id, entry] of this.pending) this.send(id, entry);
    const info = this.readyInfo();
    const callbacks = this.readyCallbacks;
    this.readyCallbacks = [];
    for (const cb of callbacks) {
      // One UI callback's bug must not keep the others from running.
      try {
        cb(info);
      } catch (err) {
        reportError(err);
      }
    }
  }

  private receive(event: MessageEvent): void {
    const parsed = hostMessage.safeParse(event.data);
    if (!parsed.success || parsed.data.channelId !== this.init?.channelId) return;
    const message = parsed.data;
    if (message.type === 'close') {
      this.close('the host page closed the bridge');
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry?.sent) return;
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    if (message.ok) entry.resolve(message.result);
    else entry.reject(new ExtensionUiError(message.error.code, message.error.message));
  }

  private send(id: string, entry: Pending): void {
    const { message } = entry;
    const limit = this.init!.limits.maxRequestBytes;
    if (message.op === 'proxy' && message.body !== undefined && byteLength(message.body) > limit) {
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new ExtensionUiError('E_BODY_TOO_LARGE', `the request body is larger than the host accepts (${limit} bytes)`));
      return;
    }
    entry.sent = true;
    this.post({ ...message, type: 'request', channelId: this.init!.channelId, id } as ClientMessage);
  }

  private post(message: ClientMessage): void {
    this.port!.postMessage(message);
  }

  private close(reason: string): void {
    this.state = 'closed';
    this.closedReason = reason;
    this.win.removeEventListener('message', this.onWindowMessage);
    if (this.port) this.port.onmessage = null;
    this.port?.close();
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new ExtensionUiError('E_NOT_CONNECTED', reason));
    }
    this.pending.clear();
  }

  private readyInfo(): ReadyInfo {
    return { extensionId: this.init!.extensionId, parentOrigin: this.parentOrigin };
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.origin !== 'null' && url.origin === value;
  } catch {
    return false;
  }
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

function describe(message: Outgoing): string {
  return message.op === 'proxy' ? `${message.method} ${message.route}` : message.op;
}
