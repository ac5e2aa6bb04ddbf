import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The direction of dependencies between src/ folders (docs/architecture.md): a file whose imports
 * break it fails here, naming the file and the import.
 */
const SRC = path.join(__dirname, '..', '..', 'src');

/** Each folder and the src/ folders it may not import. */
const FORBIDDEN: Record<string, string[]> = {
  domain: ['api', 'application', 'activities', 'workflows', 'eventstore', 'projections', 'db', 'invariants', 'operations', 'bin'],
  application: ['api', 'activities', 'bin'],
  activities: ['api', 'bin'],
  api: ['activities', 'bin'],
  eventstore: ['domain', 'api', 'application', 'activities', 'workflows', 'projections', 'invariants', 'operations', 'bin'],
  // Workflows name their activities' types (`import type`, erased from the bundle), as Temporal's samples do.
  workflows: ['api', 'application', 'eventstore', 'projections', 'db', 'invariants', 'operations', 'bin'],
  projections: ['api', 'activities', 'workflows', 'invariants', 'operations', 'bin'],
  // Counters and histograms every layer may record into; they know none of them.
  metrics: ['domain', 'api', 'application', 'activities', 'workflows', 'eventstore', 'projections', 'db', 'invariants', 'operations', 'bin'],
  // Tracing set-up every entry point loads first; it names the workflow interceptors module by path only.
  telemetry: ['domain', 'api', 'application', 'activities', 'workflows', 'eventstore', 'projections', 'db', 'invariants', 'operations', 'bin'],
  db: ['domain', 'api', 'application', 'activities', 'workflows', 'eventstore', 'projections', 'invariants', 'operations', 'bin'],
  // The typed HTTP client stands alone: its types come from the contract, not from the code behind it.
  client: ['domain', 'api', 'application', 'activities', 'workflows', 'eventstore', 'projections', 'db', 'metrics', 'invariants', 'operations', 'bin'],
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

/** The src/ folder each relative import of `file` lands in. */
function importedFolders(file: string): Array<{ specifier: string; folder: string }> {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => ({ specifier, folder: path.relative(SRC, path.resolve(path.dirname(file), specifier)).split(path.sep)[0]! }));
}

test.each(Object.entries(FORBIDDEN))('src/%s imports none of the folders it must not', (folder, forbidden) => {
  const breaches = filesUnder(path.join(SRC, folder)).flatMap((file) =>
    importedFolders(file)
      .filter((i) => forbidden.includes(i.folder))
      .map((i) => `${path.relative(SRC, file)} imports ${i.specifier}`),
  );
  expect(breaches).toEqual([]);
});

test('nothing in src/ imports the tooling outside it (chaos/, bench/, scripts/, test/): the shipped code stands alone', () => {
  const outside = filesUnder(SRC).flatMap((file) =>
    importedFolders(file)
      .filter((i) => i.folder.startsWith('..'))
      .map((i) => `${path.relative(SRC, file)} imports ${i.specifier}`),
  );
  expect(outside).toEqual([]);
});
