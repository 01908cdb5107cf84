/** The runner's execution-token replay cache on its own: lifetime and what happens at its bound. */
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../src/api/replay-cache.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function caught(fn: () => void): { code?: string; message?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('replay cache', () => {
  it('accepts an id once; the second claim is 401 E_AUTH "already used"', () => {
    const cache = new ReplayCache({ max: 10, clockToleranceMs: 2000 });
    cache.claim('a', Date.now() + 5000);
    expect(caught(() => cache.claim('a', Date.now() + 5000))).toMatchObject({ code: 'E_AUTH', message: expect.stringMatching(/already used/) });
  });

  it('keeps an id past its expiry for the clock tolerance (while the token still verifies): still 401 E_AUTH', async () => {
    const cache = new ReplayCache({ max: 10, clockToleranceMs: 300 });
    cache.claim('a', Date.now() + 20);
    await sleep(120);
    expect(caught(() => cache.claim('a', Date.now() + 20))).toMatchObject({ code: 'E_AUTH' });
  });

  it('full of live tokens it sheds new ones with 503 E_OVERLOADED rather than forgetting a live id', () => {
    const cache = new ReplayCache({ max: 2, clockToleranceMs: 0 });
    cache.claim('a', Date.now() + 60_000);
    cache.claim('b', Date.now() + 60_000);
    expect(caught(() => cache.claim('c', Date.now() + 60_000))).toMatchObject({ code: 'E_OVERLOADED' });
    // Nothing was evicted to make room: both live ids are still refused.
    expect(caught(() => cache.claim('a', Date.now() + 60_000))).toMatchObject({ code: 'E_AUTH' });
    expect(caught(() => cache.claim('b', Date.now() + 60_000))).toMatchObject({ code: 'E_AUTH' });
  });

  it('at the bound, ids of expired tokens are dropped to make room (no E_OVERLOADED)', async () => {
    const cache = new ReplayCache({ max: 2, clockToleranceMs: 0 });
    cache.claim('a', Date.now() + 20);
    cache.claim('b', Date.now() + 60_000);
    await sleep(200);
    cache.claim('c', Date.now() + 60_000);
    expect(cache.size).toBe(2);
    expect(caught(() => cache.claim('b', Date.now() + 60_000))).toMatchObject({ code: 'E_AUTH' });
  });
});
