/**
 * docker-compose.yml cannot run on these machines (no container engine), so nothing would notice
 * if it drifted from `npm run start:cluster`, which does run here. This test reads both and fails
 * where they disagree: server and UI versions, databases, shards, dynamic config, retention,
 * search attributes, and the names of the environment variables the app reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configVariableNames } from '../../src/config';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../src/devstack/temporalServerBinaries';
import { CLUSTER_DYNAMIC_CONFIG, NAMESPACE_RETENTION_HOURS, NUM_HISTORY_SHARDS, TEMPORAL_DATABASES } from '../../src/devstack/temporalCluster';
import { orderSearchAttributes } from '../../src/workflows/searchAttributes';

const ROOT = path.resolve(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[] | string;
}
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};
const imageTag = (name: string) => service(name).image!.split(':')[1];

describe('docker-compose.yml matches the cluster npm run start:cluster runs', () => {
  test('the same Temporal server and Web UI versions', () => {
    expect(imageTag('temporal')).toBe(TEMPORAL_SERVER_VERSION.slice(1));
    expect(imageTag('temporal-admin-tools')).toBe(TEMPORAL_SERVER_VERSION.slice(1));
    expect(imageTag('temporal-ui')).toBe(TEMPORAL_UI_SERVER_VERSION.slice(1));
  });

  test('the same databases, shards and retention', () => {
    const env = service('temporal').environment!;
    expect([env.DBNAME, env.VISIBILITY_DBNAME]).toEqual(TEMPORAL_DATABASES.map((db) => db.name));
    expect(Number(env.NUM_HISTORY_SHARDS)).toBe(NUM_HISTORY_SHARDS);
    expect(env.DEFAULT_NAMESPACE_RETENTION).toBe(`${NAMESPACE_RETENTION_HOURS}h`);
  });

  test('the same dynamic config, mounted where the server reads it', () => {
    const env = service('temporal').environment!;
    const mount = service('temporal')
      .volumes!.map((v) => v.split(':'))
      .find(([, inside]) => inside === env.DYNAMIC_CONFIG_FILE_PATH);
    const hostFile = mount?.[0];
    if (!hostFile) throw new Error(`nothing is mounted at ${env.DYNAMIC_CONFIG_FILE_PATH}`);
    const file = parse(readFileSync(path.join(ROOT, hostFile), 'utf8')) as Record<string, [{ value: unknown; constraints: object }]>;
    const values = Object.fromEntries(Object.entries(file).map(([key, [only]]) => [key, only.value]));
    expect(values).toEqual(CLUSTER_DYNAMIC_CONFIG);
  });

  test('the same search attributes, registered as keywords', () => {
    const script = String(service('temporal-admin-tools').command);
    for (const attribute of orderSearchAttributes) expect(script).toMatch(new RegExp(`--name ${attribute.name} --type Keyword`));
  });

  test('the app processes are given only variables the app reads', () => {
    for (const name of ['worker', 'api']) {
      // OTEL_* are OpenTelemetry's standard variables, read by its SDK rather than by src/config.ts.
      const unknown = Object.keys(service(name).environment!).filter((key) => !configVariableNames.includes(key) && !key.startsWith('OTEL_'));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
  });
});
