export * from './errors.ts';
export * from './capabilities.ts';
