import { describe, expect, it } from 'vitest';
import { hostInterfaces } from '@alga-psa/extension-host/component/host-interfaces';
import { providers } from '../src/providers/index.ts';

// The gateway's publish check and transpile precompute read the host table; the runner links
// the provider registry. A provider added or made async without the table would transpile
// components with the wrong async imports, so the two must list the same thing in the same order.
describe('host interface table', () => {
  it('matches the runner provider registry', () => {
    expect(hostInterfaces.map((h) => [h.witInterface, [...h.asyncFunctions]]))
      .toEqual(providers.map((p) => [p.witInterface, [...p.asyncFunctions]]));
  });
});
