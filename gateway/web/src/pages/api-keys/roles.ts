/** The roles a key can have, for people (the gateway's order: read ⊂ write ⊂ admin). */
import type { Role } from '../../api/types.ts';

export const roleOptions: Array<{ role: Role; label: string; description: string }> = [
  { role: 'extension:read', label: 'Read', description: 'Sees installs, the registry, settings (not secrets) and activity; calls extensions’ GET endpoints.' },
  { role: 'extension:write', label: 'Write', description: 'Read, and calls extensions’ endpoints that change data (POST, PUT, DELETE).' },
  { role: 'extension:admin', label: 'Admin', description: 'Everything: installs and upgrades extensions, edits settings and secrets, manages API keys.' },
];
