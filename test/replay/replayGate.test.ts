import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Pool } from '../../src/db/pool';
import { workflowInterceptorModules, workflowSpanSink } from '../../src/telemetry';
import { workflowsPath } from '../../src/worker';
import { commandUpdates } from '../../src/workflows/orderContract';
import { createProduct, createTestWorker, testClient, testEnv, testPool, uniqueId } from '../support/harness';
import { startOrderActor } from '../support/orders';
import { localActivityOf, scheduledActivities } from '../support/historyEvents';
import { loadHistories, type RecordedHistory } from './loadHistories';
import { CHANGED_ACTIVITY, PATCH_ID } from './variants/pauseBeforeLookUp';

/*
 * The replay test is only a gate if it can fail. This bundles deliberately changed variants of the
 * order workflow (test/replay/variants/: a 1 ms timer before every step that looks the catalog
 * up, i.e. on the AddItem and PlaceOrder paths) and replays the same recorded histories against them:
 *   - unguarded, the change breaks exactly the histories that went through that path;
 *   - guarded by `patched`, every history replays, and a new run takes the new path;
 *   - with `deprecatePatch`, runs recorded under the patch replay, old ones do not (hence "only
 *     once the old runs are gone").
 */

// Three tests replay the whole corpus and setup bundles three variants: seconds each here, over a minute on a loaded CI machine.
jest.setTimeout(240_000);

type Variant = 'unguarded' | 'patched' | 'deprecated';
const bundles = {} as Record<Variant, WorkflowBundleOption>;
/** The workflows as they are, from global setup. */
const currentBundle = (): WorkflowBundleOption => ({ codePath: testEnv.workflowBundle });

let histories: RecordedHistory[];
let client: Client;
let pool: Pool;
let connection: NativeConnection;

beforeAll(async () => {
  histories = loadHistories();
  // One bundle per variant: the real workflows plus the variant's interceptor module.
  for (const variant of ['unguarded', 'patched', 'deprecated'] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve(workflowsPath),
      workflowInterceptorModules: [...workflowInterceptorModules, path.join(__dirname, 'variants', `${variant}.ts`)],
      logger: new DefaultLogger('WARN'),
    });
    bundles[variant] = { code };
  }
  client = await testClient();
  pool = testPool();
  connection = await NativeConnection.connect({ address: testEnv.temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await client?.connection.close();
  await pool?.end();
});

/** Replays histories against a bundle; one entry per history, in order, with its error if any. */
async function replay(bundle: WorkflowBundleOption, items: RecordedHistory[]): Promise<Array<{ file: string; error?: Error }>> {
  const results: Array<{ file: string; error?: Error }> = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, sinks: workflowSpanSink() }, items)) {
    const item = items[results.length]!;
    expect(result.workflowId).toBe(item.workflowId);
    results.push({ file: item.file, ...(result.error ? { error: result.error } : {}) });
  }
  expect(results).toHaveLength(items.length);
  return results;
}

const failedFiles = (results: Array<{ file: string; error?: Error }>) => results.filter((r) => r.error).map((r) => r.file);

type HistoryEvent = NonNullable<History['events']>[number];

/** An event that runs the activity: a regular one scheduled, or a local one's marker (orders since `local-order-steps`). */
const runsActivity = (e: HistoryEvent, activityType: string): boolean => scheduledActivities([e]).includes(activityType) || localActivityOf(e) === activityType;

const schedules = (history: History, activityType: string) => (history.events ?? []).some((e) => runsActivity(e, activityType));

describe('the recorded histories against changed order workflows', () => {
  test('an unguarded extra command fails with a DeterminismViolationError exactly the histories that cover its path', async () => {
    const covering = histories.filter((h) => schedules(h.history, CHANGED_ACTIVITY)).map((h) => h.file);
    // The gate must be able to tell: some histories ran the step, some did not (those recorded before it looked up and appended apart).
    expect(covering).toEqual(expect.arrayContaining(['cart-edits-place-and-cancel.json', 'checkout-succeeds-and-ships.json']));
    expect(histories.map((h) => h.file).filter((f) => !covering.includes(f))).toEqual(
      expect.arrayContaining([
        'order-created.json',
        'before-checkout-in-actor/checkout-succeeds-and-ships-saga-1.json',
        'before-priced-in-one-step/continue-as-new.json',
      ]),
    );

    const results = await replay(bundles.unguarded, histories);
    expect(failedFiles(results)).toEqual(covering);
    for (const { error } of results.filter((r) => r.error)) {
      expect(error).toBeInstanceOf(DeterminismViolationError);
      // A regular look-up's slot holds an ActivityTaskScheduled; a local one's marker finds no local activity to match.
      expect(error!.message).toMatch(
        /Nondeterminism error: (Timer machine does not handle this event: .*ActivityTaskScheduled|Missing associated machine for LocalActivity)/,
      );
    }
  });

  test('the same change guarded by patched() replays every history cleanly', async () => {
    const results = await replay(bundles.patched, histories);
    expect(results).toEqual(histories.map((h) => ({ file: h.file })));
  });

  test('deprecatePatch() is only for when the old runs are gone: it breaks the histories recorded before the patch', async () => {
    const covering = histories.filter((h) => schedules(h.history, CHANGED_ACTIVITY)).map((h) => h.file);
    const results = await replay(bundles.deprecated, histories);
    expect(failedFiles(results)).toEqual(covering);
    for (const { error } of results.filter((r) => r.error)) expect(error).toBeInstanceOf(DeterminismViolationError);
  });
});

describe('a new run under the patched workflow', () => {
  let fresh: RecordedHistory;

  beforeAll(async () => {
    const taskQueue = uniqueId('replay-gate');
    const worker = await createTestWorker({ connection, pool }, { taskQueue, workflowBundle: bundles.patched });
    const productId = await createProduct(pool, 'Gate keeper', 700);
    const orderId = uniqueId('gate');
    const handle = await startOrderActor(client, orderId, {}, taskQueue);
    const history = await worker.runUntil(async () => {
      await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'gate-customer' }] });
      const added = await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId, quantity: 2 }] });
      expect(added).toMatchObject({ status: 'accepted', version: 2, events: ['OrderItemAdded'] });
      return handle.fetchHistory();
    });
    await handle.terminate('replay gate test: history taken');
    fresh = { file: 'fresh-patched-run', workflowId: handle.workflowId, history };
  });

  test('takes the new path: the patch marker, then the 1 ms timer, then (once it fired) the catalog look-up', () => {
    const events = fresh.history.events ?? [];
    const after = (from: number, match: (e: (typeof events)[number]) => boolean) => events.findIndex((e, i) => i > from && match(e));
    const patchOf = (e: HistoryEvent) => {
      const data =
        e.markerRecordedEventAttributes?.markerName === 'core_patch' ? e.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data : undefined;
      return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string; deprecated: boolean }) : undefined;
    };
    // (The workflow's own patches, `local-order-steps` first, record their markers too.)
    const marker = after(-1, (e) => patchOf(e)?.id === PATCH_ID);
    expect(marker).toBeGreaterThan(-1);
    expect(patchOf(events[marker]!)).toEqual({ id: PATCH_ID, deprecated: false });
    // (The actor's own cart-expiry timers come before; the pause is the next timer after the marker.)
    const pause = after(marker, (e) => !!e.timerStartedEventAttributes);
    expect(pause).toBeGreaterThan(marker);
    const { timerId, startToFireTimeout } = events[pause]!.timerStartedEventAttributes!;
    expect(Number(startToFireTimeout?.seconds ?? 0) * 1000 + (startToFireTimeout?.nanos ?? 0) / 1e6).toBe(1);
    const fired = after(pause, (e) => e.timerFiredEventAttributes?.timerId === timerId);
    const lookUp = after(-1, (e) => runsActivity(e, CHANGED_ACTIVITY));
    expect(fired).toBeGreaterThan(pause);
    expect(lookUp).toBeGreaterThan(fired);
  });

  test('its history replays under the patched and the deprecated code, and not under the code before the change', async () => {
    expect(await replay(bundles.patched, [fresh])).toEqual([{ file: fresh.file }]);
    expect(await replay(bundles.deprecated, [fresh])).toEqual([{ file: fresh.file }]);
    // Rolling back to the code before the change: the timer in the history has no command.
    const [before] = await replay(currentBundle(), [fresh]);
    expect(before!.error).toBeInstanceOf(DeterminismViolationError);
  });

  test('dropping the patched() call without deprecatePatch() first breaks it: the order of the steps matters', async () => {
    // `unguarded` is also the final code: the new path, no patch call at all.
    const [final] = await replay(bundles.unguarded, [fresh]);
    expect(final!.error).toBeInstanceOf(DeterminismViolationError);
    expect(final!.error!.message).toContain(`Non-deprecated patch marker encountered for change ${PATCH_ID}`);
  });
});
