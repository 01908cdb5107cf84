/**
 * The build's type check of `src/`: with the compiler options of the project's own tsconfig.json
 * when it has one (what the editor uses), else the generated `.alga/tsconfig.base.json`. Errors come back as
 * `file:line:col - error TSxxxx: …` with a code frame, relative to the project.
 *
 * @example
 *   const problems = typecheckProject(projectDir);   // [] when clean
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { configTypesPath, tsconfigBasePath } from '../project/editor-types.ts';

export interface TypeProblem {
  file?: string;
  line?: number;
  column?: number;
  code: number;
  message: string;
}

/**
 * What a process that type-checks the same project again and again keeps between checks (the
 * dev build child): parsed files, reused while their text is unchanged (the ~20 lib files are
 * most of the parsing), and the last program, which TypeScript reuses where it can.
 */
export interface TypecheckCache {
  files: Map<string, { text: string; target: string; file: ts.SourceFile }>;
  program?: ts.Program;
  optionsKey?: string;
}

export function typecheckProject(projectDir: string, color = false, cache?: TypecheckCache): { problems: TypeProblem[]; formatted: string } {
  const projectConfig = join(projectDir, 'tsconfig.json');
  const configPath = existsSync(projectConfig) ? projectConfig : tsconfigBasePath(projectDir);
  const host: ts.ParseConfigFileHost = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, host);
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  // The component's and the UI's sources (what ships), not tests.
  const sources = (dir: string) => ts.sys.readDirectory(join(projectDir, dir), ['.ts', '.tsx'], undefined, undefined);
  const rootNames = [...sources('src'), ...sources('ui'), configTypesPath(projectDir)];
  const options = { ...parsed.options, noEmit: true };
  const program = cache ? cachedProgram(rootNames, options, cache) : ts.createProgram({ rootNames, options });
  // "No inputs were found" (TS18003) concerns the tsconfig's own include list, which is not used here.
  const diagnostics = [...parsed.errors.filter((d) => d.code !== 18003), ...ts.getPreEmitDiagnostics(program)];
  const problems = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).map((d): TypeProblem => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return { code: d.code, message };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return { file: relative(projectDir, d.file.fileName), line: line + 1, column: character + 1, code: d.code, message };
  });
  const framed = ts.formatDiagnosticsWithColorAndContext(diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error), {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => projectDir,
    getNewLine: () => '\n',
  });
  // TypeScript only frames code in colour; logs and --json get the same text without escapes.
  return { problems, formatted: color ? framed : framed.replace(/\u001b\[[0-9;]*m/g, '') };
}

function cachedProgram(rootNames: string[], options: ts.CompilerOptions, cache: TypecheckCache): ts.Program {
  const optionsKey = JSON.stringify(options);
  if (cache.optionsKey !== optionsKey) {
    cache.files.clear();
    cache.program = undefined;
    cache.optionsKey = optionsKey;
  }
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError) => {
    let text: string | undefined;
    try {
      text = host.readFile(fileName);
    } catch (err) {
      onError?.((err as Error).message);
      return undefined;
    }
    if (text === undefined) return undefined;
    const target = JSON.stringify(languageVersionOrOptions);
    const kept = cache.files.get(fileName);
    if (kept && kept.text === text && kept.target === target) return kept.file;
    const file = ts.createSourceFile(fileName, text, languageVersionOrOptions);
    cache.files.set(fileName, { text, target, file });
    return file;
  };
  const program = ts.createProgram({ rootNames, options, host, oldProgram: cache.program });
  cache.program = program;
  return program;
}
