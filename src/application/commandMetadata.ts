import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '../eventstore';

/** Who caused a command's events outside an activity (the API, a script): the command itself. */
export const commandMetadata = (commandId: string, correlationId = commandId): EventMetadata => ({ commandId, correlationId, causationId: commandId });

/** Event ids and times for commands run outside a workflow: fresh uuids and this server's clock. */
export const serverIdsAndClock = { newEventId: randomUUID, now: () => new Date() };
