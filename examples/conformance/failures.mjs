// Prints each check that did not pass in a conformance run's output folder
// (the suite's -o): its scenario, status, id and message, one per line, so
// that a failed run says what failed without a rerun in verbose mode.
//
//   node failures.mjs RESULTS_DIR
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node failures.mjs RESULTS_DIR');
  process.exit(2);
}
for (const run of fs.readdirSync(dir).sort()) {
  const file = path.join(dir, run, 'checks.json');
  if (!fs.existsSync(file)) continue;
  // Folders are named server-SCENARIO-TIMESTAMP.
  const scenario = run.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
  for (const c of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    if (c.status === 'FAILURE' || c.status === 'WARNING') {
      console.log(`  ${scenario}: ${c.status} ${c.id}: ${c.errorMessage ?? c.description}`);
    }
  }
}
