// `npm test` runs every workspace's tests. One kind alone:
//   npx jest --testPathIgnorePatterns '\.(int|e2e)\.test\.tsx?$'   unit and API tests
//   npx jest --testPathPatterns '\.int\.test\.ts$'                 several real processes
//   npx jest --testPathPatterns '\.e2e\.test\.ts$'                 the browser
// Every workspace with a jest.config.js is a project: a new workspace's tests run without an entry here.
module.exports = {
  // Only the guard against a test that hangs: a test waits for conditions, never for a timer, and
  // jest's 5 s default failed property tests and in-process systems on a busy 2-core machine. Jest
  // reads it from the root config when it runs projects, not from a project's.
  testTimeout: 30_000,
  projects: ['<rootDir>/*/jest.config.js'],
};
