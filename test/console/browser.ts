import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/*
 * A real Chromium for the console's tests: Debian's (`/usr/bin/chromium`, or CHROMIUM_PATH), driven
 * by playwright-core, which downloads no browser. Like the Temporal CLI, it is fetched on a fresh
 * machine when it can be: as root with apt-get, `apt-get install -y chromium`; otherwise the tests
 * stop with one sentence saying how to get it (README, "Browser tests").
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags that run Chromium here as root, headless, with no network of its own. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Makes sure Chromium is there: installs Debian's as root with apt-get, or says how. */
export async function ensureChromium(): Promise<string> {
  if (executable(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const canInstall = process.getuid?.() === 0 && executable('/usr/bin/apt-get') && process.env.CHROMIUM_PATH === undefined;
  if (!canInstall) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH}: install it (Debian/Ubuntu: sudo apt-get install -y chromium; elsewhere see README "Browser tests") or set CHROMIUM_PATH.`,
    );
  }
  process.stderr.write('[console tests] Chromium is missing: installing Debian’s with apt-get (first time only, takes a few minutes)…\n');
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  if (!executable(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} is still not there.`);
  return CHROMIUM_PATH;
}

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh browser profile in a temporary directory, removed on close. */
export async function openBrowser(): Promise<Browser> {
  const executablePath = await ensureChromium();
  const profile = mkdtempSync(path.join(tmpdir(), 'console-test-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where the tests write screenshots of the main pages (`npm run console:screenshots`), or undefined. */
export const SCREENSHOT_DIR = process.env.CONSOLE_SCREENSHOTS ? path.resolve(__dirname, '..', '..', 'docs', 'images') : undefined;

export async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOT_DIR) await page.screenshot({ path: path.join(SCREENSHOT_DIR, `console-${name}.png`), fullPage: true });
}
