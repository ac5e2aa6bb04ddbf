import { pauseBeforeLookUp } from './pauseBeforeLookUp';

/** The change as most people first write it: unconditionally. Old histories cannot replay it. */
export const interceptors = pauseBeforeLookUp(() => true);
