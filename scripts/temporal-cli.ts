/** `npm run temporal:cli`: finds or builds the Temporal CLI and prints its path. */
import { ensureTemporalCli } from '../src/devstack/temporalCli';

ensureTemporalCli({ allowDownload: false })
  .then((cli) => {
    if (cli.kind === 'path') process.stdout.write(`${cli.path}\n`);
  })
  .catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
