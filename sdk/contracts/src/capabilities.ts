/**
 * Capability ids (DESIGN.md §3) and the WIT interface each one covers.
 * `context` and `log` are always granted; `types` carries only records and needs no capability.
 */
export const capabilityInterfaces = {
  'cap:context.read': 'context',
  'cap:log.emit': 'log',
  'cap:secrets.get': 'secrets',
  'cap:http.fetch': 'http',
  'cap:storage.kv': 'storage',
  'cap:ui.proxy': 'ui-proxy',
} as const;

/**
 * Capabilities that add no interface of their own but widen what one does. `cap:secrets.use`:
 * the http interface substitutes `{{secret:<key>}}` placeholders on the host (zero-knowledge
 * secrets, DESIGN.md §5); the guest never reads the value.
 */
export const capabilityModifiers = {
  'cap:secrets.use': 'http',
} as const;

export type InterfaceCapabilityId = keyof typeof capabilityInterfaces;
export type CapabilityId = InterfaceCapabilityId | keyof typeof capabilityModifiers;
export type WitInterfaceName = (typeof capabilityInterfaces)[InterfaceCapabilityId];

export const capabilityIds = [...Object.keys(capabilityInterfaces), ...Object.keys(capabilityModifiers)] as CapabilityId[];
export const alwaysGrantedCapabilities: readonly CapabilityId[] = ['cap:context.read', 'cap:log.emit'];

export const witPackage = 'alga:extension';
export const witVersion = '0.1.0';

/** Interfaces every component may import regardless of capabilities. */
export const capabilityFreeInterfaces: readonly string[] = ['types'];

export function isCapabilityId(value: string): value is CapabilityId {
  return Object.hasOwn(capabilityInterfaces, value) || Object.hasOwn(capabilityModifiers, value);
}

/** A capability that brings a WIT interface (every one but the modifiers). */
export function isInterfaceCapabilityId(value: string): value is InterfaceCapabilityId {
  return Object.hasOwn(capabilityInterfaces, value);
}

/** `alga:extension/http@0.1.0` or `alga:extension/http` → `http`; anything foreign → undefined. */
export function witInterfaceOfImport(importName: string): string | undefined {
  const m = /^alga:extension\/([a-z][a-z0-9-]*)(?:@[\w.+-]+)?$/.exec(importName);
  return m ? m[1] : undefined;
}

/** The capability that covers an import, or undefined when none does (an undeclared import). */
export function capabilityForInterface(iface: string): InterfaceCapabilityId | undefined {
  return (Object.keys(capabilityInterfaces) as InterfaceCapabilityId[]).find((cap) => capabilityInterfaces[cap] === iface);
}

/** Declared ∩ granted, plus the always-granted ones. */
export function effectiveCapabilities(declared: readonly string[], granted: readonly string[]): Set<CapabilityId> {
  const out = new Set<CapabilityId>(alwaysGrantedCapabilities);
  for (const cap of declared) if (isCapabilityId(cap) && granted.includes(cap)) out.add(cap);
  return out;
}
