import type { QueryArrayConfig, QueryArrayResult, QueryResult, QueryResultRow } from 'pg';

/** A pool or a client inside a transaction: the event store works with either. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  /** Rows as arrays: the readers map tens of thousands of rows, and skip an object per row. */
  query<R extends unknown[] = unknown[]>(config: QueryArrayConfig): Promise<QueryArrayResult<R>>;
}
