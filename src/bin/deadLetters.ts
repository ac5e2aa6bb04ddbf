/** `npm run dead-letters -- list|retry <id>`: see src/operations/deadLetterCommands.ts and docs/operations.md. */
import { runProgram } from '../operations/cli';
import { deadLetterCommands } from '../operations/deadLetterCommands';

runProgram('dead-letters', deadLetterCommands);
