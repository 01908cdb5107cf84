/**
 * The main thread's end of the host-call channel: runs the runner's backend for a WIT interface
 * (`RunnerOptions.hostBackends`: a dev server or test host in this process) for one `host-call`
 * message, and posts the `host-result` back to the worker. It relays by interface name only.
 *
 * What the backend learns of the request (`HostCallScope`) comes from the job the pool
 * dispatched, never from the message: a guest can choose the arguments, not whose install they
 * reach. A call for a request no longer in flight on that worker, for an interface without a
 * backend, or of a capability the request does not hold, never reaches a backend.
 *
 * Results: the backend's value; a thrown plain `{ tag, val? }` is relayed as that object; any
 * other throw becomes `{ tag: 'unavailable', val: <first line of its message, ≤ 300 chars> }`.
 * A result for a worker that died meanwhile is dropped (`alive()`).
 *
 * @example
 *   answerHostCall(backends, slot.inFlight.get(message.id)?.job, message, (m) => worker.postMessage(m), () => !slot.dead);
 */
import { providerForInterface } from '../providers/index.ts';
import type { HostBackend, HostCallScope } from '../providers/provider.ts';
import type { HostCallError, HostCallMessage, HostResultMessage, WorkerJob } from './messages.ts';

/** A plain `{ tag: string, val? }` (what `witError` makes); an Error never is one. */
function asRelayedError(e: unknown): HostCallError | undefined {
  if (typeof e !== 'object' || e === null || e instanceof Error) return undefined;
  const { tag, val } = e as { tag?: unknown; val?: unknown };
  if (typeof tag !== 'string') return undefined;
  return val === undefined ? { tag } : { tag, val };
}

function failureText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 300);
}

export function hostCallScope(job: WorkerJob): HostCallScope {
  const { install } = job;
  return {
    requestId: job.requestId, tenantId: install.tenantId, extensionId: install.extensionId, installId: install.installId,
    versionId: install.versionId, install, deadlineMs: job.deadlineMs,
  };
}

async function run(backends: Readonly<Record<string, HostBackend>>, job: WorkerJob | undefined, message: HostCallMessage): Promise<HostResultMessage> {
  const result = (value: unknown): HostResultMessage => ({ type: 'host-result', callId: message.callId, ok: true, value });
  const failure = (error: HostCallError): HostResultMessage => ({ type: 'host-result', callId: message.callId, ok: false, error });
  if (!job) return failure({ tag: 'unavailable', val: 'the request is no longer running' });
  const backend = Object.hasOwn(backends, message.iface) ? backends[message.iface] : undefined;
  if (!backend) return failure({ tag: 'unavailable', val: `no host backend for ${message.iface}` });
  // The worker binds hostCall only for granted interfaces; checked again where the backend lives.
  const provider = providerForInterface(message.iface);
  if (!provider || !job.effectiveCapabilities.includes(provider.capability)) return failure({ tag: 'denied' });
  try {
    const args = Array.isArray(message.args) ? message.args : [];
    return result(await backend({ iface: message.iface, op: String(message.op), args, scope: hostCallScope(job) }));
  } catch (e) {
    return failure(asRelayedError(e) ?? { tag: 'unavailable', val: failureText(e) });
  }
}

export function answerHostCall(
  backends: Readonly<Record<string, HostBackend>>,
  job: WorkerJob | undefined,
  message: HostCallMessage,
  post: (message: HostResultMessage) => void,
  alive: () => boolean,
): void {
  void run(backends, job, message).then((answer) => {
    if (!alive()) return;
    try {
      post(answer);
    } catch (e) {
      // DataCloneError: the backend answered something that cannot cross threads.
      try {
        post({ type: 'host-result', callId: message.callId, ok: false, error: { tag: 'unavailable', val: `the host backend's answer cannot be sent to the worker: ${failureText(e)}` } });
      } catch {
        // The worker is going away: its request is settled by the pool.
      }
    }
  });
}
