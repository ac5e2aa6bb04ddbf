import type { Queryable } from '../eventstore';
import { ResultBuilder, type InvariantFilter, type InvariantResult } from './types';

export const INTEGRITY_INVARIANT = { id: '3', title: 'no duplicate event id, stream versions 1..N without holes' };

/**
 * Invariant 3: no event id is stored twice (the unique index guarantees it; checked anyway), and
 * every stream's events have versions exactly 1..N with N = streams.version (no hole, nothing
 * beyond). With (stream_id, version) unique, count = N, min = 1 and max = N mean contiguous.
 */
export async function checkStreamIntegrity(db: Queryable, filter: InvariantFilter = {}): Promise<InvariantResult> {
  const result = new ResultBuilder(INTEGRITY_INVARIANT.id, INTEGRITY_INVARIANT.title);
  const only = filter.streamIds ? [...filter.streamIds] : null;
  if (only?.length === 0) return result.build();

  const { rows: dupes } = await db.query<{ event_id: string; n: string; streams: string[] }>(
    `SELECT event_id, count(*) AS n, array_agg(DISTINCT stream_id) AS streams FROM events
      WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))
      GROUP BY event_id HAVING count(*) > 1`,
    [only],
  );
  for (const d of dupes) result.violation(`event id ${d.event_id} stored ${d.n} times (${d.streams.join(', ')})`);

  const { rows: total } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM streams WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))',
    [only],
  );
  result.checked(Number(total[0]?.n ?? 0));

  const { rows: holes } = await db.query<{ stream_id: string; version: string | null; n: string; min_v: string | null; max_v: string | null }>(
    `WITH per_stream AS (
       SELECT stream_id, count(*) AS n, min(version) AS min_v, max(version) AS max_v FROM events
        WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))
        GROUP BY stream_id
     )
     SELECT coalesce(s.stream_id, p.stream_id) AS stream_id, s.version, coalesce(p.n, 0) AS n, p.min_v, p.max_v
       FROM (SELECT stream_id, version FROM streams WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))) s
       FULL JOIN per_stream p ON p.stream_id = s.stream_id
      WHERE s.stream_id IS NULL OR p.stream_id IS NULL
         OR p.n <> s.version OR p.min_v <> 1 OR p.max_v <> s.version`,
    [only],
  );
  for (const h of holes) {
    if (h.version === null) result.violation(`${h.stream_id}: events (versions ${h.min_v}..${h.max_v}) without a streams row`);
    else if (h.min_v === null) result.violation(`${h.stream_id}: streams.version ${h.version} but no events`);
    else result.violation(`${h.stream_id}: ${h.n} event(s) with versions ${h.min_v}..${h.max_v}, streams.version ${h.version}`);
  }
  return result.build();
}
