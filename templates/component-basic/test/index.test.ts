import { describe, expect, it } from 'vitest';
import { loadExtension } from '@alga-psa/extension-runtime/testing';

describe('{{name}}', () => {
  it('greets with the configured greeting', async () => {
    const ext = await loadExtension({ config: { greeting: 'Howdy', excited: true } });
    const res = await ext.request('GET', '/hello');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ greeting: 'Howdy!' });
    expect(ext.logs.map((l) => l.message)).toContain('greeted');
  });

  it('counts visits in storage', async () => {
    const ext = await loadExtension();
    await ext.request('POST', '/visits/ada');
    const res = await ext.request('POST', '/visits/ada');
    expect(res.json()).toEqual({ who: 'ada', visits: 2 });
    expect(await ext.storage.get('visits', 'ada')).toBe(2);
  });
});
