/*
 * Progress of a long command (a rebuild, a chaos run, the bench): on a terminal, one bar redrawn in
 * place with the rate and the time left; anywhere else (a CI log, a pipe, a file) plain lines, one
 * every few seconds, since `\r` redraws would pile up there as one unreadable line. Small enough to
 * keep here rather than take a dependency: what it needs beyond a bar is `log`, lines printed
 * above the bar without tearing it.
 */

/** Where progress goes: `process.stderr`, or a stand-in in tests. */
export interface ProgressOutput {
  isTTY?: boolean;
  /** The terminal's width (0 or unset when unknown: 120); the bar's line is cut to it so it never wraps (a wrapped line cannot be redrawn). */
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** What is progressing: a projection's name, a fault. */
  label: string;
  total: number;
  /** What is counted: `events`, `orders`. */
  unit?: string;
  output?: ProgressOutput;
  /** Show the rate (units per second); off when what is counted is time itself. */
  showRate?: boolean;
  /** Plain output: at most one line this often (the last state is always printed by `finish`). */
  plainEveryMs?: number;
  now?: () => number;
}

export interface Progress {
  /** Where it is now (and the total, when that grew), with a short note of what is happening. */
  update(done: number, options?: { total?: number; note?: string }): void;
  /** A line of its own, printed above the bar. */
  log(line: string): void;
  /** Draws the final state, ends the bar's line, then prints `line` if given. */
  finish(line?: string): void;
}

const BAR_WIDTH = 24;
/** A terminal redraw at most this often: a rebuild reports every batch, far more often than an eye reads. */
const REDRAW_EVERY_MS = 100;
/**
 * The bar sits on the last line, ended by a newline, so whatever else the process prints later
 * (a table on stdout) starts on a line of its own; a redraw goes up to it (ESC [1A) and erases it
 * (ESC [2K) first. The price: a line another process writes to the same terminal between two
 * redraws (the bench's dev server banner as it starts) is the one erased. Lines of this process go
 * through `log`, which keeps them.
 */
const BACK_TO_BAR = '\u001b[1A\u001b[2K\r';

/** `95` → `1:35`, `3725` → `1:02:05`. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const rateText = (perSecond: number) => (perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2));

export function progressBar(options: ProgressOptions): Progress {
  const output = options.output ?? process.stderr;
  const now = options.now ?? Date.now;
  const unit = options.unit ? ` ${options.unit}` : '';
  const tty = output.isTTY === true;
  const startedAt = now();
  let total = options.total;
  let done = 0;
  let note = '';
  /** A first plain line only after `plainEveryMs`: a short run prints just its final state. */
  let drawnAt = tty ? -Infinity : startedAt;
  let barShown = false;

  /** The figures both forms share: how far, how fast, how long still. */
  const figures = () => {
    const ratio = total <= 0 ? 1 : Math.min(1, done / total);
    const elapsedS = (now() - startedAt) / 1000;
    const perSecond = elapsedS > 0 ? done / elapsedS : 0;
    const eta = done >= total ? 'done' : perSecond > 0 ? `ETA ${clock((total - done) / perSecond)}` : 'ETA --:--';
    const rate = options.showRate === false ? [] : [`${rateText(perSecond)}${unit}/s`];
    return { ratio, parts: [`${done}/${total}${unit}`, ...rate, eta, `${clock(elapsedS)} elapsed`] };
  };

  const barLine = () => {
    const { ratio, parts } = figures();
    const filled = Math.round(ratio * BAR_WIDTH);
    const line = `${options.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${parts.join(' · ')}${note ? ` | ${note}` : ''}`;
    return line.slice(0, Math.max(20, (output.columns || 120) - 1));
  };
  const plainLine = () => {
    const { ratio, parts } = figures();
    return `${options.label}: ${(ratio * 100).toFixed(0)}% ${parts.join(', ')}${note ? ` | ${note}` : ''}`;
  };

  let drawn = '';
  const draw = (force: boolean) => {
    const at = now();
    if (!force && at - drawnAt < (tty ? REDRAW_EVERY_MS : (options.plainEveryMs ?? 5000))) return;
    const line = tty ? barLine() : plainLine();
    // The final state just printed is not printed again.
    if (tty ? barShown && line === drawn : line === drawn) return;
    output.write(`${tty && barShown ? BACK_TO_BAR : ''}${line}\n`);
    barShown = tty;
    drawn = line;
    drawnAt = at;
  };

  return {
    update(value, extra = {}) {
      done = value;
      if (extra.total !== undefined) total = extra.total;
      // One line: a newline or another control character in a note would break the redraw.
      // eslint-disable-next-line no-control-regex
      if (extra.note !== undefined) note = extra.note.replace(/[\u0000-\u001f\u007f]+/g, ' ');
      draw(false);
    },
    log(line) {
      if (tty && barShown) {
        output.write(`${BACK_TO_BAR}${line}\n`);
        barShown = false;
        draw(true); // the bar again, under the line
      } else output.write(`${line}\n`);
    },
    finish(line) {
      draw(true);
      barShown = false;
      if (line !== undefined) output.write(`${line}\n`);
    },
  };
}
