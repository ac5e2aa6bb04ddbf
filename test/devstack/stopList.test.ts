import { stopList } from '../../src/devstack/stopList';

test('stops run last-started first, a failing one does not keep the others from running, and stopping again stops nothing twice', async () => {
  const stopped: string[] = [];
  const stops = stopList();
  for (const name of ['postgres', 'temporal', 'workers']) {
    stops.push(async () => {
      stopped.push(name);
      if (name === 'temporal') throw new Error('already gone');
    });
  }
  await stops.stopAll();
  await stops.stopAll();
  expect(stopped).toEqual(['workers', 'temporal', 'postgres']);
});
