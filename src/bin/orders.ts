/** `npm run orders -- show|list|cancel|heal …`: see src/operations/orderCommands.ts and docs/operations.md. */
import { runProgram } from '../operations/cli';
import { orderCommands } from '../operations/orderCommands';

runProgram('orders', orderCommands);
