/** Gateway metrics (prom-client); label names match the runner's. */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alga_gateway_' });
  return {
    registry,
    proxied: new Counter({ name: 'alga_gateway_proxied_total', help: 'Proxied extension requests by outcome (ok or error code)', labelNames: ['outcome'], registers: [registry] }),
    installConfigCache: new Counter({ name: 'alga_gateway_install_config_cache_total', help: 'Install-config cache lookups', labelNames: ['result'], registers: [registry] }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
