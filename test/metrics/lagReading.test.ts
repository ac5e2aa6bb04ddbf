import type { Request, Response } from 'express';
import { metricsEndpoint } from '../../src/metrics/http';

/** Scrapes the endpoint once; resolves when it has answered. */
function scrape(handler: ReturnType<typeof metricsEndpoint>): Promise<void> {
  return new Promise((resolve, reject) => {
    const res = { type: () => res, send: () => resolve() } as unknown as Response;
    Promise.resolve(handler({} as Request, res, reject)).catch(reject);
  });
}

test('a client scraping /metrics in a loop costs one lag reading per reuse period, not one per scrape', async () => {
  let readings = 0;
  const endpoint = metricsEndpoint(async () => {
    readings++;
    await new Promise((r) => setTimeout(r, 20));
    return [{ name: 'order_summary', lag: { events: 3, ms: 40 }, parkedEvents: 0 }];
  }, 60_000);

  await Promise.all(Array.from({ length: 20 }, () => scrape(endpoint)));
  for (let i = 0; i < 20; i++) await scrape(endpoint);
  expect(readings).toBe(1);
});

test('a failed reading is not kept: the next scrape reads again', async () => {
  let readings = 0;
  const endpoint = metricsEndpoint(async () => {
    if (++readings === 1) throw new Error('database down');
    return [];
  }, 60_000);

  await expect(scrape(endpoint)).rejects.toThrow('database down');
  await scrape(endpoint);
  expect(readings).toBe(2);
});
