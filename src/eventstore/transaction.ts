import { withClient } from '../db/pool';
import type { Queryable } from './queryable';

/** A connection that can be held for a transaction: a pg Pool is one. */
export interface TransactionalDb extends Queryable {
  connect(): Promise<TransactionClient>;
}

export interface TransactionClient extends Queryable {
  /** `true` destroys the connection instead of returning it to the pool. */
  release(destroy?: Error | boolean): void;
}

/** What a unit of work decided: keep its writes (`commit`) or not, and what to answer. */
export interface TransactionOutcome<T> {
  commit: boolean;
  result: T;
}

/**
 * Runs `work` in one transaction on one connection: committed when it asks to, rolled back when it
 * does not or throws. The connection is handled by `withClient`: destroyed, not returned to the
 * pool, when it broke or cannot roll back.
 */
export function inTransaction<T>(
  db: TransactionalDb,
  work: (client: Queryable) => Promise<TransactionOutcome<T>>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
): Promise<T> {
  return withClient(db, async (client) => {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const { commit, result } = await work(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  });
}
