/** Kept here for the launcher's users (the benchmarks, the tests); it lives in common. */
export { freePort } from '@mini-blog/common';
