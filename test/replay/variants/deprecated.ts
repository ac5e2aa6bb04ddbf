import { deprecatePatch } from '@temporalio/workflow';
import { PATCH_ID, pauseBeforeLookUp } from './pauseBeforeLookUp';

/** Step 2, once no run without the patch marker is left: the new path only, the marker tolerated. */
export const interceptors = pauseBeforeLookUp(() => {
  deprecatePatch(PATCH_ID);
  return true;
});
