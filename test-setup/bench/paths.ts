/** Where the bench lives and writes, resolved from this file (never from the caller's cwd). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const resultsDir = join(repoRoot, 'bench-results');
export const benchJsonFile = join(resultsDir, 'bench.json');
export const reportHtmlFile = join(resultsDir, 'report.html');
export const readmeFile = join(repoRoot, 'README.md');
