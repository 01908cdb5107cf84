/**
 * The host's side of one adopted channel: every message on the port is parsed against the
 * protocol, must carry the channel id, and is answered once by request id. Only the frame that
 * completed the handshake holds the other end of the port, so this never looks at window messages.
 *
 * @example
 *   const channel = serveChannel(port, channelId, {
 *     proxy: (request, signal) => forwardProxyCall(request, settings, signal),
 *     resize: (height) => { iframe.style.height = `${height}px`; },
 *     navigate: onNavigate,
 *     maxConcurrent: 8,
 *   });
 *   channel.close();   // tells the frame, aborts calls in flight, closes the port
 */
import { ExtensionUiError } from './errors.ts';
import { requestMessage, type ProxyRequest, type ProxyResult, type RequestMessage, type ResponseMessage } from './protocol.ts';
import { checkRoute } from './route.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ChannelHandlers {
  proxy(request: ProxyRequest, closed: AbortSignal): Promise<ProxyResult>;
  resize(height: number): void;
  /** Absent: the frame's navigate calls get E_UNSUPPORTED. */
  navigate?: (path: string) => void;
  maxConcurrent: number;
}

export interface Channel {
  close(): void;
}

export function serveChannel(port: MessagePort, channelId: string, handlers: ChannelHandlers): Channel {
  const closed = new AbortController();
  const inFlight = new Set<string>();
  const answer = (message: DistributiveOmit<ResponseMessage, 'type' | 'channelId'>) => {
    if (!closed.signal.aborted) port.postMessage({ type: 'response', channelId, ...message });
  };
  const fail = (id: string, err: unknown) => {
    if (err instanceof ExtensionUiError) return answer({ id, ok: false, error: { code: err.code, message: err.message.slice(0, 2000) } });
    // The host page's own callback threw: its text stays on the host page, the frame only learns that it failed.
    if (!closed.signal.aborted) reportError(err);
    answer({ id, ok: false, error: { code: 'E_HOST_FAILED', message: 'the host page failed to handle this request' } });
  };

  port.onmessage = (event: MessageEvent) => {
    const data: unknown = event.data;
    if (isRecord(data) && data.type === 'ready') return; // a repeated handshake answer
    const parsed = requestMessage.safeParse(data);
    if (!parsed.success) {
      // Only a message that names this channel and an id gets an answer; anything else is noise.
      if (isRecord(data) && data.channelId === channelId && typeof data.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(data.id)) {
        fail(data.id, new ExtensionUiError('E_BAD_MESSAGE', `not a bridge request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}`.slice(0, 500)));
      }
      return;
    }
    const request = parsed.data;
    if (request.channelId !== channelId) return;
    if (inFlight.has(request.id)) return fail(request.id, new ExtensionUiError('E_BAD_MESSAGE', `request id ${request.id} is already in flight`));
    if (inFlight.size >= handlers.maxConcurrent) return fail(request.id, new ExtensionUiError('E_BUSY', `more than ${handlers.maxConcurrent} calls in flight from this frame`));
    inFlight.add(request.id);
    void handle(request).then(
      (result) => answer({ id: request.id, ok: true, result }),
      (err: unknown) => fail(request.id, err),
    ).finally(() => inFlight.delete(request.id));
  };

  async function handle(request: RequestMessage): Promise<ProxyResult | null> {
    switch (request.op) {
      case 'proxy':
        return handlers.proxy(request, closed.signal);
      case 'resize':
        handlers.resize(request.height);
        return null;
      case 'navigate': {
        const { path, query } = checkRoute(request.path);
        if (!handlers.navigate) throw new ExtensionUiError('E_UNSUPPORTED', 'the host page does not handle navigation requests');
        handlers.navigate(`${path}${query}`);
        return null;
      }
    }
  }

  return {
    close() {
      if (closed.signal.aborted) return;
      port.postMessage({ type: 'close', channelId });
      closed.abort(new DOMException('the bridge was closed', 'AbortError'));
      port.onmessage = null;
      port.close();
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
