import { countStreams, findDuplicateEventIds, findStreamVersionMismatches, type Queryable } from '../eventstore';
import { ResultBuilder, type InvariantFilter, type InvariantResult } from './types';

export const INTEGRITY_INVARIANT = { id: '3', title: 'no duplicate event id, stream versions 1..N without holes' };

/**
 * Invariant 3: no event id is stored twice (the unique index guarantees it; checked anyway), and
 * every stream's events have versions exactly 1..N with N = streams.version (no hole, nothing
 * beyond).
 */
export async function checkStreamIntegrity(db: Queryable, filter: InvariantFilter = {}): Promise<InvariantResult> {
  const result = new ResultBuilder(INTEGRITY_INVARIANT.id, INTEGRITY_INVARIANT.title);
  const { streamIds } = filter;
  if (streamIds?.length === 0) return result.build();

  for (const d of await findDuplicateEventIds(db, { streamIds })) {
    result.violation(`event id ${d.eventId} stored ${d.count} times (${d.streamIds.join(', ')})`);
  }
  result.checked(await countStreams(db, { streamIds }));
  for (const m of await findStreamVersionMismatches(db, { streamIds })) {
    if (m.streamVersion === null) result.violation(`${m.streamId}: events (versions ${m.minVersion}..${m.maxVersion}) without a streams row`);
    else if (m.minVersion === null) result.violation(`${m.streamId}: streams.version ${m.streamVersion} but no events`);
    else result.violation(`${m.streamId}: ${m.eventCount} event(s) with versions ${m.minVersion}..${m.maxVersion}, streams.version ${m.streamVersion}`);
  }
  return result.build();
}
