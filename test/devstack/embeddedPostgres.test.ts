import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';

test('stopping a Postgres whose server a signal already stopped (Ctrl-C reaches the whole process group) ends, and removes a throwaway folder', () => {
  // Without the fix the stop waits for an exit event that never comes; with nothing else to do,
  // the library's own exit hook ends the process at once, printing nothing.
  const printed = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'stopSignalledEmbeddedPostgres.ts'), path.join(throwawayDataDir('pg-stop'), 'postgres')],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(JSON.parse(printed || '{}')).toEqual({ stopped: true, folderLeft: false });
}, 90_000);
