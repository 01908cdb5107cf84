/** `npm run bench:readme`: README's Performance figures from the latest bench-results/bench.json. */
import { benchJsonFile, readmeFile } from './paths.ts';
import { readReportJson } from './report.ts';
import { updateReadme } from './readme-section.ts';

const report = await readReportJson().catch((err: unknown) => {
  console.error(`no bench report to take the figures from (${benchJsonFile}): run npm run bench first (${(err as Error).message})`);
  process.exit(1);
});
const changed = await updateReadme(report);
console.log(changed ? `updated ${readmeFile} from ${benchJsonFile} (${report.machine.date})` : `${readmeFile} already shows ${benchJsonFile}`);
