import fc from 'fast-check';
import { clock, progressBar, type ProgressOutput } from '../../src/operations/progress';

/** A stream as the module sees one: whether it is a terminal, its width, and what was written to it. */
function fakeStream(isTTY: boolean, columns = 200): ProgressOutput & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, columns, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

/** A clock the test moves by hand. */
function fakeClock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const ESC = '\u001b';

test('on a terminal: one bar redrawn in place, with percent, count, rate and ETA; lines logged go above it', () => {
  const out = fakeStream(true);
  const time = fakeClock();
  const bar = progressBar({ label: 'order_summary', total: 1000, unit: 'events', output: out, now: time.now });
  time.advance(2000);
  bar.update(200);
  expect(out.text()).toBe('order_summary [#####-------------------]  20% 200/1000 events · 100 events/s · ETA 0:08 · 0:02 elapsed\n');

  time.advance(50);
  bar.update(210); // under the redraw interval: nothing written
  expect(out.text().split('\n')).toHaveLength(2);

  time.advance(1950);
  bar.update(400, { note: 'batch 4' });
  bar.log('a line of its own');
  time.advance(4000);
  bar.update(1000);
  bar.finish('rebuilt');
  const written = out.text();
  // Every redraw goes up to the bar and erases it; nothing else is ever erased.
  expect(written.split(`${ESC}[1A${ESC}[2K\r`).map((part) => part.split('\n')[0])).toEqual([
    expect.stringContaining('200/1000 events'),
    expect.stringContaining('400/1000 events · 100 events/s · ETA 0:06 · 0:04 elapsed | batch 4'),
    'a line of its own',
    expect.stringMatching(/\[#{24}\] 100% 1000\/1000 events · 125 events\/s · done · 0:08 elapsed \| batch 4$/),
  ]);
  expect(written.endsWith('elapsed | batch 4\nrebuilt\n')).toBe(true);
});

test('on a terminal the bar is cut to the width, so it never wraps (a wrapped line cannot be redrawn)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 30, max: 300 }), fc.string({ maxLength: 400, unit: 'binary' }), (columns, note) => {
      const out = fakeStream(true, columns);
      progressBar({ label: 'x', total: 10, output: out }).update(3, { note });
      const [line, ...rest] = out.text().split('\n');
      expect({ width: line!.length < columns, rest }).toEqual({ width: true, rest: [''] });
    }),
  );
});

test('a terminal that does not tell its width (0, as under `script`) gets 120 columns, not a bar cut to nothing', () => {
  const out = fakeStream(true, 0);
  progressBar({ label: 'order_summary', total: 10, unit: 'events', output: out }).update(5, { note: 'x'.repeat(200) });
  expect(out.text().split('\n')[0]).toHaveLength(119);
});

test('not on a terminal: plain lines, no escape codes, at most one every plainEveryMs, and the final state', () => {
  const out = fakeStream(false);
  const time = fakeClock();
  const bar = progressBar({ label: '[worker-kill]', total: 200, unit: 'outcomes', output: out, now: time.now, plainEveryMs: 5000 });
  for (let i = 1; i <= 100; i++) {
    time.advance(100);
    bar.update(i, { note: `in flight ${i % 7}` });
  }
  bar.log('the worker is killed');
  time.advance(10_000);
  bar.update(200);
  bar.finish('[worker-kill] passed in 20.0s');
  expect(out.text()).not.toContain(ESC);
  expect(out.text().split('\n')).toEqual([
    '[worker-kill]: 25% 50/200 outcomes, 10.0 outcomes/s, ETA 0:15, 0:05 elapsed | in flight 1',
    '[worker-kill]: 50% 100/200 outcomes, 10.0 outcomes/s, ETA 0:10, 0:10 elapsed | in flight 2',
    'the worker is killed',
    '[worker-kill]: 100% 200/200 outcomes, 10.0 outcomes/s, done, 0:20 elapsed | in flight 2',
    '[worker-kill] passed in 20.0s',
    '',
  ]);
});

test('without a rate (counting time itself), and before anything is done there is no ETA', () => {
  const out = fakeStream(true);
  const time = fakeClock();
  const bar = progressBar({ label: 'bench budget', total: 240, unit: 's', output: out, now: time.now, showRate: false });
  bar.update(0);
  time.advance(60_000);
  bar.update(60);
  expect(out.text().split(`${ESC}[1A${ESC}[2K\r`)).toEqual([
    'bench budget [------------------------]   0% 0/240 s · ETA --:-- · 0:00 elapsed\n',
    'bench budget [######------------------]  25% 60/240 s · ETA 3:00 · 1:00 elapsed\n',
  ]);
});

test('clock', () => {
  expect([clock(0), clock(59.6), clock(95), clock(3725)]).toEqual(['0:00', '1:00', '1:35', '1:02:05']);
});
