/**
 * Maps a guest stack trace from the bundled JS to the developer's TypeScript with the build's
 * source map (`dist/component.js.map`, carried in the bundle as `component.js.map`), using
 * Node's built-in `SourceMap` (no dependency).
 *
 * A componentize-js guest runs on SpiderMonkey, whose `err.stack` is one frame a line,
 * `<function>@<file>:<line>:<column>` with 1-based line AND column (measured; the build's
 * bundle runs as `guest.js`, and componentize-js adds its own `initializer.js` frame last):
 *
 *   parseTicket@guest.js:283:11
 *   async*app<@guest.js:327:9
 *   export_handler_0_1_0$handle@/tmp/d3ea03170f7f/sources/initializer.js:835:15
 *
 * becomes `parseTicket@src/helpers.ts:4:11` (the source path as the map names it: relative to
 * the project). V8 frames (`    at fn (file:line:col)`) are mapped the same way. Frames of other
 * files, frames with no mapping on their line, and every other line are kept as they are.
 *
 * @example
 *   const mapStack = createStackMapper(await readFile('dist/component.js.map', 'utf8'));
 *   mapStack('parseTicket@guest.js:283:11\n');   // 'parseTicket@src/helpers.ts:4:11\n'
 */
import { SourceMap, type SourceMapPayload } from 'node:module';

/** The name the bundled JS runs under in a guest's stack: the file `alga component build` componentizes. */
export const guestScriptName = 'guest.js';

export interface StackMapperOptions {
  /**
   * Script names (compared with a frame's file name after its last `/`) that are the bundle the
   * map describes. Default: `guest.js` and the map's own `file` (`component.js`).
   */
  generatedFiles?: readonly string[];
  /** Frames (lines) mapped per stack; later lines are kept as they are. Default 200. */
  maxFrames?: number;
  /** Characters of a stack that are read at all; the rest is cut with a note. Default 64 KiB. */
  maxStackChars?: number;
}

/** Longer lines are no stack frame anyone wrote: kept as they are, never parsed. */
const maxLineChars = 2048;
const position = /:(\d{1,9}):(\d{1,9})$/;

type Mapper = (stack: string) => string;

/**
 * Never throws: a map that is not a source map (not JSON, no `mappings`, ...) gives a mapper that
 * returns stacks unchanged, and a stack that is not a string maps to ''.
 */
export function createStackMapper(sourceMapJson: string | object, options: StackMapperOptions = {}): (stack: string) => string {
  const maxFrames = options.maxFrames ?? 200;
  const maxStackChars = options.maxStackChars ?? 64 * 1024;
  const bound = (stack: unknown): string => {
    if (typeof stack !== 'string') return '';
    return stack.length <= maxStackChars ? stack : `${stack.slice(0, maxStackChars)}\n[stack cut at ${maxStackChars} of ${stack.length} characters]`;
  };
  const map = loadSourceMap(sourceMapJson);
  if (!map) return bound as Mapper;
  const generated = new Set(options.generatedFiles ?? [guestScriptName, ...(typeof map.payload.file === 'string' && map.payload.file ? [baseName(map.payload.file)] : [])]);

  const mapLine = (line: string): string => {
    if (line.length > maxLineChars) return line;
    const frame = parseFrame(line);
    if (!frame || !generated.has(baseName(frame.file))) return line;
    let entry: ReturnType<SourceMap['findEntry']>;
    try {
      entry = map.sourceMap.findEntry(frame.line - 1, frame.column - 1);
    } catch {
      return line;
    }
    // findEntry answers the nearest mapping at or BEFORE the position, possibly on an earlier
    // line: a frame in code with no mapping of its own (esbuild's helpers) is left alone.
    if (!entry || !('originalSource' in entry) || typeof entry.originalSource !== 'string' || entry.generatedLine !== frame.line - 1) return line;
    return `${frame.prefix}${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}${frame.suffix}`;
  };

  return (stack: string): string => {
    const text = bound(stack);
    if (!text) return text;
    const lines = text.split('\n');
    const n = Math.min(lines.length, maxFrames);
    for (let i = 0; i < n; i++) {
      const cr = lines[i].endsWith('\r');
      const mapped = mapLine(cr ? lines[i].slice(0, -1) : lines[i]);
      lines[i] = cr ? `${mapped}\r` : mapped;
    }
    return lines.join('\n');
  };
}

function loadSourceMap(json: string | object): { sourceMap: SourceMap; payload: SourceMapPayload } | undefined {
  try {
    const payload = (typeof json === 'string' ? JSON.parse(json) : json) as SourceMapPayload & { sections?: unknown };
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    const indexed = Array.isArray(payload.sections);
    if (!indexed && (typeof payload.mappings !== 'string' || !Array.isArray(payload.sources))) return undefined;
    return { sourceMap: new SourceMap(payload), payload };
  } catch {
    return undefined;
  }
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

interface Frame {
  /** Everything before the file name (`fn@`, `    at fn (`). */
  prefix: string;
  file: string;
  line: number;
  column: number;
  /** Everything after the position (`)` of a V8 frame). */
  suffix: string;
}

/** `fn@file:1:2` (SpiderMonkey, JavaScriptCore), `    at fn (file:1:2)` or `    at file:1:2` (V8). */
function parseFrame(line: string): Frame | undefined {
  const v8 = /^\s*at /.exec(line);
  const suffix = v8 && line.endsWith(')') ? ')' : '';
  const body = suffix ? line.slice(0, -1) : line;
  const pos = position.exec(body);
  if (!pos) return undefined;
  const head = body.slice(0, pos.index);
  let split: number;
  if (v8) {
    const paren = suffix ? head.lastIndexOf(' (') : -1;
    split = paren >= 0 ? paren + 2 : v8[0].length;
  } else {
    const at = head.indexOf('@');
    if (at < 0) return undefined;
    split = at + 1;
  }
  const file = head.slice(split);
  if (!file) return undefined;
  return { prefix: head.slice(0, split), file, line: Number(pos[1]), column: Number(pos[2]), suffix };
}
