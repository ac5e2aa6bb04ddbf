import { patched } from '@temporalio/workflow';
import { PATCH_ID, pauseBeforeLookUp } from './pauseBeforeLookUp';

/** Step 1 of a safe change: new runs pause (and record a patch marker), old histories replay the old path. */
export const interceptors = pauseBeforeLookUp(() => patched(PATCH_ID));
