import type { EventMetadata } from '../eventstore';

/** Who caused a command's events outside an activity (the API, a script): the command itself. */
export const commandMetadata = (commandId: string, correlationId = commandId): EventMetadata => ({ commandId, correlationId, causationId: commandId });
