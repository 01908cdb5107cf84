/**
 * The worker's end of the host-call channel: a provider's `scope.hostCall(op, args)` becomes a
 * `host-call` message to the pool, which runs the runner's main-thread backend for that WIT
 * interface and answers with a `host-result`. The worker names no provider: it relays by
 * interface name.
 *
 * A host call never outlives its request: it is rejected with `unavailable` a margin before the
 * request deadline (so the guest can still answer), and
 * when the request ends; a result that comes later, or for a call id it never made, is ignored.
 * While a call is pending the guest is suspended like on any async host function (GuestClock).
 *
 * @example
 *   const calls = new HostCallClient((m) => port.postMessage(m));
 *   const page = await calls.call(requestId, deadlineMs, 'storage', 'list', ['cache', undefined, undefined, 100]);
 *   port.on('message', (m) => m.type === 'host-result' && calls.settle(m));
 */
import type { HostCallError, HostCallMessage, HostResultMessage } from './messages.ts';

/**
 * Kept back from the request deadline so the guest can still answer with the failure: at the
 * deadline itself the pool stops the request (504) and replaces its worker. A quarter of the time
 * left when the call is made, at most 500 ms: 20 ms (the gateway callbacks' margin) lost that race
 * on a loaded 2-core machine, and so did a fixed 100 ms under CI load. Only local hosts (dev,
 * tests) have main-thread backends, where budgets are seconds long, so the margin costs nothing.
 */
export const HOST_CALL_DEADLINE_MARGIN_MS = 500;

export function hostCallMarginMs(leftMs: number): number {
  return Math.min(HOST_CALL_DEADLINE_MARGIN_MS, Math.max(0, leftMs) / 4);
}

interface PendingCall {
  requestId: number;
  resolve(value: unknown): void;
  reject(error: HostCallError): void;
  timer: NodeJS.Timeout;
}

const unavailable = (val: string): HostCallError => ({ tag: 'unavailable', val });

export class HostCallClient {
  private readonly post: (message: HostCallMessage) => void;
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;

  constructor(post: (message: HostCallMessage) => void) {
    this.post = post;
  }

  call(requestId: number, deadlineMs: number, iface: string, op: string, args: unknown[]): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const leftMs = deadlineMs - Date.now();
      const remainingMs = leftMs - hostCallMarginMs(leftMs);
      if (remainingMs <= 0) return reject(unavailable('the request deadline has passed'));
      const callId = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(callId);
        reject(unavailable('the request deadline has passed'));
      }, remainingMs);
      this.pending.set(callId, { requestId, resolve, reject, timer });
      try {
        this.post({ type: 'host-call', id: requestId, callId, iface, op, args });
      } catch {
        // DataCloneError: something in `args` cannot cross threads (never the case for WIT values).
        clearTimeout(timer);
        this.pending.delete(callId);
        reject(unavailable('the host call arguments cannot be sent to the backend'));
      }
    });
  }

  settle(message: HostResultMessage): void {
    const call = this.pending.get(message.callId);
    if (!call) return; // timed out, dropped with its request, or never made
    this.pending.delete(message.callId);
    clearTimeout(call.timer);
    if (message.ok) call.resolve(message.value);
    else call.reject(message.error);
  }

  /** The request ended: nothing of it may wait on the main thread any longer. */
  dropRequest(requestId: number): void {
    for (const [callId, call] of this.pending) {
      if (call.requestId !== requestId) continue;
      this.pending.delete(callId);
      clearTimeout(call.timer);
      call.reject(unavailable('the request has ended'));
    }
  }
}
