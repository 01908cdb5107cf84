export * from './errors.ts';
export * from './capabilities.ts';
export * from './bundle.ts';
export * from './execution-token.ts';
export * from './manifest.ts';
export * from './package-version.ts';
export * from './bundle-signature.ts';
export * from './read-capped.ts';
