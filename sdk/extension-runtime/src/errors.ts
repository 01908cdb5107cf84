/** Typed errors the SDK throws when a host call returns a WIT `result` error. */
export type CapabilityName = 'secrets' | 'http' | 'storage' | 'ui-proxy';

export class HostError extends Error {
  readonly capability: CapabilityName;
  /** The WIT variant case: `denied`, `not-found`, `conflict`, `quota-exceeded`, `timeout`, … */
  readonly kind: string;
  readonly detail?: string;

  constructor(capability: CapabilityName, kind: string, detail?: string) {
    super(`${capability}: ${kind}${detail ? ` (${detail})` : ''}`);
    this.name = 'HostError';
    this.capability = capability;
    this.kind = kind;
    this.detail = detail;
  }
}

export class CapabilityNotDeclaredError extends Error {
  constructor(capability: string) {
    super(`this extension's manifest does not declare ${capability}; add it to "capabilities" and rebuild`);
    this.name = 'CapabilityNotDeclaredError';
  }
}

/** componentize-js surfaces a WIT `result` error as a thrown value carrying `{ tag, val }`. */
export function hostCall<T>(capability: CapabilityName, call: () => T): T {
  try {
    return call();
  } catch (err) {
    const payload = (err as { payload?: unknown })?.payload ?? err;
    const tag = (payload as { tag?: unknown })?.tag;
    if (typeof tag === 'string') {
      const val = (payload as { val?: unknown }).val;
      throw new HostError(capability, tag, typeof val === 'string' ? val : undefined);
    }
    throw err;
  }
}
