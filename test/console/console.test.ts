import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { appendToStream } from '../../src/eventstore';
import { allProjections, Projector, type Projection } from '../../src/projections';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { ADMIN, customer, startTestApi, type TestApi, testEnv, tokenFor, uniqueId, useTestApi } from '../support/harness';
import { cartReadyToCheckOut } from '../operations/stranding';
import { openBrowser, screenshot, type Browser } from './browser';

/*
 * The operator console in a real Chromium against the real API, Temporal and Postgres: what an
 * operator does with it, through the page only (the API calls here only set the scene).
 */

const app = useTestApi();
let browser: Browser;

/** A projection that refuses every event while `poisoned`: what parks a dead letter, and a fix that lets its retry apply. */
let poisoned = true;
const poisonStreamType = uniqueId('console').replace(/-/g, '_');
const poisonable: Projection = {
  name: `${poisonStreamType}_model`,
  streamTypes: [poisonStreamType],
  async applyStream(_tx, events) {
    if (poisoned) throw new Error(`cannot handle ${events[0]!.type} yet`);
  },
};
let projector: Projector;
/** The API the browser uses: the file's, with the poisonable projection on its read side too. */
let consoleApi: TestApi;

beforeAll(async () => {
  browser = await openBrowser();
  projector = new Projector(app.pool, testEnv.databaseUrl, [poisonable], { lockRetryMs: 50 }).start();
  consoleApi = await startTestApi({ client: app.client, pool: app.pool, projections: [...allProjections, poisonable] });
}, 15 * 60_000); // a fresh machine installs Chromium first

afterAll(async () => {
  await browser?.close();
  await consoleApi?.close();
  await projector?.stop();
});

async function logIn(page: Page, token?: string): Promise<void> {
  token ??= await tokenFor(ADMIN);
  await page.goto(`${consoleApi.baseUrl}/console`);
  await page.fill('#login-token', token);
  await page.click('#login-submit');
}

async function loggedIn(): Promise<Page> {
  const page = await browser.newPage();
  await logIn(page);
  await page.locator('#nav').waitFor();
  return page;
}

/** Confirms the open dialog with a reason. */
async function confirmWith(page: Page, reason: string): Promise<void> {
  await page.fill('#confirm-reason', reason);
  await page.click('#confirm-yes');
}

test('an operator logs in, finds an order by its customer, and reads its timeline with the state after each event', async () => {
  const { orderId, customerId, productId } = await cartReadyToCheckOut(app.pool, app.admin);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
  });
  const page = await loggedIn();
  // The token is kept for the tab, never in the address.
  expect(page.url()).not.toContain(await tokenFor(ADMIN));

  await page.fill('#filter-customer', customerId);
  await page.click('#search');
  await page.locator(`tr[data-order="${orderId}"]`).waitFor();
  await screenshot(page, 'orders');
  await page.click(`tr[data-order="${orderId}"] a[href^="#/order/"]`);

  await page.locator('table.timeline tr[data-version="6"]').waitFor();
  expect(await page.locator('table.timeline tr[data-version] td.state-after summary').allTextContents()).toEqual([
    'PENDING · 0 line(s) · 0.00',
    'PENDING · 1 line(s) · 30.00',
    'PLACED · 1 line(s) · 30.00',
    'PLACED · 1 line(s) · 30.00',
    'PLACED · 1 line(s) · 30.00',
    'CONFIRMED · 1 line(s) · 30.00',
  ]);
  // What each event changed, and the checkout's steps on the stock and wallet streams.
  expect(await page.locator('tr[data-type="OrderPlaced"] .changed').textContent()).toContain('status: "PENDING" → "PLACED"');
  expect(await page.locator('.checkout[data-attempt="1"] tr[data-step]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-step')))).toEqual([
    'StockReserved',
    'AccountDebited',
    'StockCommitted',
  ]);
  expect(await page.locator('.checkout[data-attempt="1"]').textContent()).toContain(`stock-${productId}`);
  expect(await page.locator('a.workflow-link').first().getAttribute('href')).toBe(
    `http://localhost:8233/namespaces/default/workflows/${orderWorkflowId(orderId)}`,
  );
  // The answers the actor gave, from its Temporal history.
  expect(await page.locator('table.answers tr[data-outcome="accepted"]').count()).toBe(3);
  await screenshot(page, 'order');
  await page.close();
});

test("an operator watching an order sees its checkout's steps arrive live", async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const page = await loggedIn();
  await page.goto(`${consoleApi.baseUrl}/console#/order/${orderId}`);
  await page.locator('table.timeline tr[data-version="2"]').waitFor();
  expect(await page.locator('table.timeline tr[data-version]').count()).toBe(2);
  expect(await page.locator('.checkout').count()).toBe(0);

  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } })).response.status).toBe(202);
  // No reload: the page polls and redraws as the saga's events land.
  await page.locator('tr[data-type="CheckoutSucceeded"]').waitFor();
  await page.locator('.checkout[data-attempt="1"] tr[data-step="StockCommitted"]').waitFor();
  expect(await page.locator('.checkout[data-attempt="1"]').textContent()).toContain('succeeded');
  await page.close();
});

test('an operator finds a stranded order with the stuck filter and heals it; the action is recorded with who and why', async () => {
  const { orderId, customerId, productId } = await cartReadyToCheckOut(app.pool, app.admin);
  await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies mid-cart');
  const page = await loggedIn();
  await page.goto(`${consoleApi.baseUrl}/console#/orders?customerId=${customerId}&stuck=true`);
  const row = page.locator(`tr[data-order="${orderId}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain('TERMINATED');

  await row.locator('a[href^="#/order/"]').click();
  await page.click('#action-heal');
  await confirmWith(page, 'actor terminated by a test');
  await page.locator('#notice', { hasText: 'healed' }).waitFor();
  await page.locator('table.operator-actions', { hasText: 'actor terminated by a test' }).waitFor();
  expect(await page.locator('table.operator-actions').textContent()).toContain(ADMIN.sub);

  // The order takes commands again.
  expect(
    (await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 3 } })).response.status,
  ).toBe(200);
  await page.close();
});

test('an operator retries a parked event once its handler is fixed', async () => {
  poisoned = true;
  const streamId = uniqueId('console-dead');
  await appendToStream(app.pool, streamId, poisonStreamType, 'no_stream', [{ eventId: randomUUID(), type: 'Happened', data: {}, occurredAt: new Date() }]);
  const page = await loggedIn();
  await page.goto(`${consoleApi.baseUrl}/console#/read-side`);
  const parked = page.locator('table.dead-letters tr[data-dead-letter]', { hasText: streamId });
  await parked.waitFor({ timeout: 30_000 });
  expect(await page.locator(`tr[data-projection="${poisonable.name}"]`).textContent()).toContain('running');
  await screenshot(page, 'read-side');

  poisoned = false; // the fix is deployed
  await parked.locator('button.retry').click();
  await confirmWith(page, 'handler fixed');
  await page.locator('#notice', { hasText: 'applied' }).waitFor();
  await parked.waitFor({ state: 'detached' });
  await page.close();
});

test("a customer's token is refused: the console asks for an admin's", async () => {
  const page = await browser.newPage();
  await logIn(page, await tokenFor(customer('alice')));
  await page.locator('#login-error', { hasText: 'not an admin' }).waitFor();
  expect(await page.locator('#nav').isHidden()).toBe(true);
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  await page.close();
});

test('the products and wallets pages list what the read models hold', async () => {
  const { customerId } = await cartReadyToCheckOut(app.pool, app.admin);
  const page = await loggedIn();
  await page.goto(`${consoleApi.baseUrl}/console#/products`);
  await page.locator('text=Kettle').first().waitFor();
  await screenshot(page, 'products');
  await page.goto(`${consoleApi.baseUrl}/console#/customers`);
  await page.locator('table a[href^="#/stream/account-"]').first().waitFor();
  await screenshot(page, 'customers');
  await page.goto(`${consoleApi.baseUrl}/console#/customer/${customerId}`);
  await page.locator(`a[href="#/stream/account-${customerId}"]`).click();
  await page.locator('table.timeline tr[data-version="2"]').waitFor();
  expect(await page.locator('table.timeline td.state-after summary').last().textContent()).toBe('balance 100.00');
  await page.close();
});
