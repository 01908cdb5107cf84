/**
 * Decrypted secrets of one install, as key → value, that never reveal a value by accident.
 *
 * @example
 *   const values = SecretValues.from({ API_KEY: 'sk-live-…' });
 *   values.get('API_KEY');          // 'sk-live-…'
 *   util.inspect(values);           // "SecretValues { keys: [ 'API_KEY' ], values: '[redacted]' }"
 *   JSON.stringify(values);         // '{"keys":["API_KEY"],"values":"[redacted]"}'
 *   `${values}`;                    // '[SecretValues: 1 key, redacted]'
 *   values.wipe();                  // zero-fills the buffers; get() now returns undefined
 *
 * Values are held as Buffers that belong to this object alone (never slices of Node's shared pool), so `wipe()`
 * really overwrites the bytes. What cannot be zeroed: the JS strings that `get()` hands out (strings are immutable
 * and live until the garbage collector reclaims them), and strings the value passed through on its way here (the
 * base64 plaintext in a Vault JSON response, a `Record<string, string>` given to `from()`). Wiping shortens the life
 * of the plaintext in memory; it is not a guarantee.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** A Buffer of its own (not a view on Node's shared allocation pool), so `fill(0)` touches nothing else. */
export function ownedUtf8(value: string): Buffer {
  const buf = Buffer.alloc(Buffer.byteLength(value, 'utf8'));
  buf.write(value, 0, 'utf8');
  return buf;
}

/** Copies `source` into an unpooled Buffer and zero-fills the source. */
export function takeOwnership(source: Buffer): Buffer {
  const buf = Buffer.alloc(source.length);
  source.copy(buf);
  source.fill(0);
  return buf;
}

export class SecretValues {
  #values: Map<string, Buffer>;

  private constructor(values: Map<string, Buffer>) {
    this.#values = values;
  }

  /** Copies the strings into owned Buffers. A non-string value is refused by key name only. */
  static from(record: Record<string, string>): SecretValues {
    const values = new Map<string, Buffer>();
    for (const [key, value] of Object.entries(record)) {
      if (typeof value !== 'string') throw new TypeError(`secret "${key}" is not a string`);
      values.set(key, ownedUtf8(value));
    }
    return new SecretValues(values);
  }

  /** Takes ownership of the Buffers (the caller must not keep or reuse them). */
  static fromBuffers(entries: Iterable<readonly [string, Buffer]>): SecretValues {
    return new SecretValues(new Map(entries));
  }

  get(key: string): string | undefined {
    return this.#values.get(key)?.toString('utf8');
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  keys(): string[] {
    return [...this.#values.keys()];
  }

  get size(): number {
    return this.#values.size;
  }

  /** An independent copy (its own Buffers): wiping one never affects the other. */
  clone(): SecretValues {
    const values = new Map<string, Buffer>();
    for (const [key, buf] of this.#values) {
      const copy = Buffer.alloc(buf.length);
      buf.copy(copy);
      values.set(key, copy);
    }
    return new SecretValues(values);
  }

  /** Zero-fills every value and forgets the keys. Idempotent. */
  wipe(): void {
    for (const buf of this.#values.values()) buf.fill(0);
    this.#values = new Map();
  }

  toJSON(): { keys: string[]; values: string } {
    return { keys: this.keys(), values: REDACTED };
  }

  toString(): string {
    const n = this.#values.size;
    return `[SecretValues: ${n} ${n === 1 ? 'key' : 'keys'}, redacted]`;
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: { stylize?: (s: string, style: string) => string }): string {
    const keys = inspect(this.keys(), { breakLength: Infinity });
    const redacted = options?.stylize ? options.stylize(`'${REDACTED}'`, 'special') : `'${REDACTED}'`;
    return `SecretValues { keys: ${keys}, values: ${redacted} }`;
  }
}
