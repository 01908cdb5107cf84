/**
 * Node-only host code shared by the gateway, the runner and the CLI. Import a module by its
 * path (`@alga-psa/extension-host/secrets/secret-cipher`) to load only what it needs.
 * `db/pglite-knex` and `storage/*` are deliberately not re-exported here: they load knex and
 * PGlite's WASM, which importers of this barrel (the runner, the CLI) have no use for.
 */
export * from './component/bundle-store.ts';
export * from './component/transpile-cache.ts';
export * from './component/off-thread-transpile.ts';
export * from './component/import-check.ts';
export * from './component/async-imports.ts';
export * from './component/host-interfaces.ts';
export * from './secrets/secret-cipher.ts';
export * from './secrets/local-keyring.ts';
export * from './secrets/vault-transit-cipher.ts';
export * from './secrets/secret-values.ts';
