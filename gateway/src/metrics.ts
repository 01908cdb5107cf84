/** Gateway metrics (prom-client); label names match the runner's. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alga_gateway_' });
  return {
    registry,
    proxied: new Counter({ name: 'alga_gateway_proxied_total', help: 'Proxied extension requests by outcome (ok or error code)', labelNames: ['outcome'], registers: [registry] }),
    installConfigCache: new Counter({ name: 'alga_gateway_install_config_cache_total', help: 'Install-config cache lookups', labelNames: ['result'], registers: [registry] }),
    // The audit and guest-log rows written behind the answer (gateway/src/audit/write-behind.ts).
    writeBehind: {
      rows: new Counter({ name: 'alga_gateway_write_behind_rows_total', help: 'Audit and guest-log rows by table and result (written, or dropped: refused by the database)', labelNames: ['table', 'result'], registers: [registry] }),
      queued: new Gauge({ name: 'alga_gateway_write_behind_queued_rows', help: 'Rows waiting to be written, by table', labelNames: ['table'], registers: [registry] }),
    },
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
