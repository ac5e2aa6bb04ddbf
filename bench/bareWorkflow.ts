/**
 * The checkout baseline: a bare workflow shaped like one order (updates, activities, one child
 * workflow), with none of the domain. Bundled by bench/checkout.ts onto its own task queue. Its
 * `OrderShape` says how many activities each step awaits, and which: the baseline's no-op regular
 * activities (`BARE_WORKFLOW_SHAPE`); none at all, the "Temporal floor" flow of bench/floor.ts
 * (`TEMPORAL_FLOOR_SHAPE`); or the order service's own count as local `select 1`s
 * (`LOCAL_STEPS_SHAPE`, also bench/floor.ts).
 */
import { condition, defineQuery, defineUpdate, executeChild, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';

export interface BareActivities {
  noop(): Promise<void>;
  /** `select 1` on the application's pool (registered by bench/floor.ts's worker only). */
  selectOne(): Promise<void>;
}

/** How many activities each step of the bare order awaits, one after another, and of which kind. */
export interface OrderShape {
  activity: 'none' | 'regular noop' | 'local select 1';
  create: number;
  /** Per add. */
  addItem: number;
  /** Place: before the saga, in it, after it. */
  placeBeforeSaga: number;
  saga: number;
  placeAfterSaga: number;
  /** The saga's steps run in the order's own workflow instead of in a child workflow. */
  sagaInline?: boolean;
}

/** The baseline kept since the first bench (performance.md's history compares with it): regular no-ops, like the actor's steps before they went local. */
export const BARE_WORKFLOW_SHAPE: OrderShape = { activity: 'regular noop', create: 1, addItem: 2, placeBeforeSaga: 1, saga: 3, placeAfterSaga: 1 };
/** The same updates and child workflow with no activities: what Temporal alone charges for an order. */
export const TEMPORAL_FLOOR_SHAPE: OrderShape = { ...BARE_WORKFLOW_SHAPE, activity: 'none' };
/**
 * The local activities an order of the checkout section runs (two lines): create appends (1); each
 * add looks the product up, decides and appends in one step (1); place reprices, decides and
 * appends in one (1), the saga reserves two lines, debits and commits two (5), and the order
 * appends the saga's report (1).
 */
export const LOCAL_STEPS_SHAPE: OrderShape = { activity: 'local select 1', create: 1, addItem: 1, placeBeforeSaga: 1, saga: 5, placeAfterSaga: 1 };
/** The same local activities with the saga's run in the order's own workflow: what the child workflow costs. */
export const LOCAL_STEPS_INLINE_SAGA_SHAPE: OrderShape = { ...LOCAL_STEPS_SHAPE, sagaInline: true };

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '10 seconds' });
const { selectOne } = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '10 seconds' });

async function steps(shape: OrderShape, count: number): Promise<void> {
  if (shape.activity === 'none') return;
  const step = shape.activity === 'regular noop' ? noop : selectOne;
  for (let i = 0; i < count; i++) await step();
}

export const createUpdate = defineUpdate<number>('create');
export const addUpdate = defineUpdate<number>('add');
export const placeUpdate = defineUpdate<string>('place');
export const statusQuery = defineQuery<string>('status');

export async function bareCheckoutWorkflow(shape: OrderShape): Promise<void> {
  await steps(shape, shape.saga);
}

export async function bareOrderWorkflow(shape: OrderShape): Promise<string> {
  let status = 'NEW';
  let version = 0;
  let done = false;
  setHandler(statusQuery, () => status);
  setHandler(createUpdate, async () => {
    await steps(shape, shape.create);
    status = 'PENDING';
    return ++version;
  });
  setHandler(addUpdate, async () => {
    await steps(shape, shape.addItem); // decidePricedOrderCommand
    return ++version;
  });
  setHandler(placeUpdate, async () => {
    await steps(shape, shape.placeBeforeSaga);
    status = 'PLACED';
    if (shape.sagaInline) await bareCheckoutWorkflow(shape);
    else await executeChild(bareCheckoutWorkflow, { workflowId: `${workflowInfo().workflowId}-checkout`, args: [shape] });
    await steps(shape, shape.placeAfterSaga);
    status = 'CONFIRMED';
    done = true;
    return status;
  });
  await condition(() => done);
  return status;
}
