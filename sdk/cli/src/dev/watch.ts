/**
 * Watches a project for saves: one callback per burst of changes (debounced), never for what
 * the tools themselves write (`dist/`, `.alga/`, `node_modules/`, `.git/`) or editors' swap
 * and backup files. Node's recursive `fs.watch` (inotify on Linux, FSEvents on macOS).
 *
 * @example
 *   const watcher = watchProject('.', (files) => console.log('changed', files), { debounceMs: 100 });
 *   watcher.close();
 */
import { watch, type FSWatcher } from 'node:fs';

const ignoredRoots = new Set(['dist', '.alga', 'node_modules', '.git']);

/** Editors write these around a save (vim, emacs, JetBrains, VS Code's atomic writes). */
function isNoise(file: string): boolean {
  const base = file.split(/[\\/]/).pop() ?? file;
  return /(^\.#|~$|\.swp$|\.swx$|\.tmp$|^4913$|___jb_(tmp|old)___$)/.test(base);
}

export function isWatchedPath(file: string): boolean {
  const first = file.split(/[\\/]/)[0];
  return !ignoredRoots.has(first) && !isNoise(file);
}

export interface ProjectWatcher {
  close(): void;
}

export function watchProject(dir: string, onChange: (files: string[]) => void, options: { debounceMs?: number } = {}): ProjectWatcher {
  const debounceMs = options.debounceMs ?? 100;
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, file) => {
    if (!file) return;
    const name = file.toString();
    if (!isWatchedPath(name)) return;
    pending.add(name);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...pending].sort();
      pending = new Set();
      onChange(files);
    }, debounceMs);
  });
  watcher.on('error', () => { /* a removed directory ends its own watch; the project root stays watched */ });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
