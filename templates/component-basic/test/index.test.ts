// Runs against the BUILT component (dist/) in the real runner: `alga component test`.
import { describe, expect, it } from 'vitest';
import { loadExtension } from '@alga-psa/extension-runtime/testing';

describe('{{title}}', () => {
  it('greets with the configured greeting', async () => {
    const ext = await loadExtension({ config: { greeting: 'Howdy', excited: true } });
    try {
      const res = await ext.request('GET', '/hello');
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ greeting: 'Howdy!' });
      expect(res.logs.map((l) => l.message)).toContain('greeted');
    } finally {
      await ext.close();
    }
  });

  it('counts visits in storage, starting from what is stored', async () => {
    const ext = await loadExtension({ storage: { visits: { ada: 2 } } });
    try {
      expect((await ext.request('POST', '/visits/ada')).json()).toEqual({ who: 'ada', visits: 3 });
      expect((await ext.request('POST', '/visits/grace')).json()).toEqual({ who: 'grace', visits: 1 });
      expect(await ext.storage.dump()).toEqual({ visits: { ada: 3, grace: 1 } });
    } finally {
      await ext.close();
    }
  });

  it('answers 404 for a route the manifest does not declare', async () => {
    const ext = await loadExtension();
    try {
      const res = await ext.request('GET', '/nope');
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'E_ENDPOINT_NOT_DECLARED' } });
    } finally {
      await ext.close();
    }
  });
});
