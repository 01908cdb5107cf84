export * from './errors.ts';
export * from './capabilities.ts';
export * from './manifest.ts';
