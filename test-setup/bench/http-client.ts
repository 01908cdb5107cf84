/**
 * The bench's HTTP client: an undici Pool per target with a connection per caller of the
 * highest level, keep-alive, no pipelining (each caller waits for its answer, as a gateway does).
 */
import { Pool } from 'undici';

export const maxConcurrency = 32;

export function benchPool(origin: string, connections = maxConcurrency): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

export interface Expectation {
  status?: number;
  /** A substring the answer must contain (cheaper than parsing it). */
  contains?: string;
}

/** Reads the whole answer and rejects when it is not the one expected, with what came instead. */
export async function request(pool: Pool, options: Parameters<Pool['request']>[0], expect: Expectation = {}): Promise<string> {
  const res = await pool.request(options);
  const text = await res.body.text();
  const status = expect.status ?? 200;
  if (res.statusCode !== status) throw new Error(`${options.method} ${options.path}: status ${res.statusCode} (expected ${status}): ${text.slice(0, 240)}`);
  if (expect.contains && !text.includes(expect.contains)) throw new Error(`${options.method} ${options.path}: answer lacks ${JSON.stringify(expect.contains)}: ${text.slice(0, 240)}`);
  return text;
}
