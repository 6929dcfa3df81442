// The test helpers that load without Node (no Node module in their graph), for tests that run in
// a browser-like environment (the client's, under jsdom). The rest are in `@mini-blog/common/testing`.
export * from './subscription-status';
export * from './comment-trace';
