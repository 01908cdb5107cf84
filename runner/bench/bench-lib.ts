/**
 * The bench's measurement helpers now live in test-setup/bench/measure.ts (shared by the runner
 * and gateway benches); this path stays because sdk/cli/bench/cli.bench.ts imports it.
 */
export * from '../../test-setup/bench/measure.ts';
