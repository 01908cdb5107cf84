/** Runner metrics (prom-client); label names are shared with the gateway. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createRunnerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alga_runner_' });
  return {
    registry,
    executions: new Counter({ name: 'alga_runner_executions_total', help: 'Execute requests by outcome (ok or error code)', labelNames: ['outcome'], registers: [registry] }),
    latency: new Histogram({
      name: 'alga_runner_execute_duration_seconds', help: 'Execute latency as seen by the runner', labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
    }),
    // Guest CPU per request (executing, not waiting on host I/O): what RUNNER_DEFAULT_CPU_MS is chosen against.
    guestCpu: new Histogram({
      name: 'alga_runner_guest_cpu_seconds', help: 'Guest CPU time per request (time executing, not suspended on host I/O)', labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
    }),
    instancesLive: new Gauge({ name: 'alga_runner_instances_live', help: 'Component instances alive across workers', registers: [registry] }),
    workerReplacements: new Counter({ name: 'alga_runner_worker_replacements_total', help: 'Workers terminated and replaced', labelNames: ['reason'], registers: [registry] }),
    componentCache: new Counter({ name: 'alga_runner_component_cache_total', help: 'Compiled-component cache lookups', labelNames: ['result'], registers: [registry] }),
    instanceCache: new Counter({ name: 'alga_runner_instance_cache_total', help: 'Requests served by a ready instance (hit) or one created for them (miss)', labelNames: ['result'], registers: [registry] }),
  };
}

export type RunnerMetrics = ReturnType<typeof createRunnerMetrics>;
