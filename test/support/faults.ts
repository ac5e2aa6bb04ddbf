/** Stand-ins for an activity when its dependency misbehaves: the real one, wrapped. */

/** Fails the first `times` calls (a technical error unless `error` says otherwise), then does the real thing. */
export function failing<A extends unknown[], R>(
  times: number,
  real: (...args: A) => Promise<R>,
  error: () => Error = () => new Error('connection terminated'),
) {
  let calls = 0;
  const fn = async (...args: A) => {
    calls++;
    if (calls <= times) throw error();
    return real(...args);
  };
  return Object.assign(fn, { calls: () => calls });
}

/** Does the real thing every time, but the first `times` calls fail afterwards: the step happened, the caller is never told. */
export function happensButFails<A extends unknown[], R>(times: number, real: (...args: A) => Promise<R>, error: () => Error) {
  let calls = 0;
  const fn = async (...args: A) => {
    calls++;
    const result = await real(...args);
    if (calls <= times) throw error();
    return result;
  };
  return Object.assign(fn, { calls: () => calls });
}
