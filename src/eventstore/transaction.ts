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
 * does not or throws. A connection that cannot roll back is destroyed, not returned to the pool.
 */
export async function inTransaction<T>(
  db: TransactionalDb,
  work: (client: Queryable) => Promise<TransactionOutcome<T>>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
): Promise<T> {
  const client = await db.connect();
  let destroy = false;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const { commit, result } = await work(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      destroy = true;
    });
    throw err;
  } finally {
    client.release(destroy);
  }
}
