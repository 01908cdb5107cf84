/** Baseline: hello's handler called directly in this Node process (same router and SDK code, JS host). */
import { pathToFileURL } from 'node:url';
import type { Arm } from '../../../test-setup/bench/scenario.ts';
import { bundleForNode, helloGuestRequest } from './hello-handler-bundle.ts';

interface HelloModule { handler: { handle(req: unknown): { status: number } | Promise<unknown> } }

export async function directCallArm(outfile: string): Promise<Arm> {
  const mod = (await import(pathToFileURL(await bundleForNode(outfile)).href)) as HelloModule;
  return {
    id: 'baseline-direct',
    callSync: () => {
      const answer = mod.handler.handle(helloGuestRequest);
      // hello answers synchronously; a promise here would mean the measured call did not run to the end.
      if (answer instanceof Promise || answer.status !== 200) throw new Error(`unexpected answer from the handler: ${JSON.stringify(answer)}`);
    },
  };
}
