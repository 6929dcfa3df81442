// `npm test` runs every workspace's tests. One kind alone:
//   npx jest --testPathIgnorePatterns '\.(int|e2e)\.test\.tsx?$'   unit and API tests
//   npx jest --testPathPatterns '\.int\.test\.ts$'                 several real processes
//   npx jest --testPathPatterns '\.e2e\.test\.ts$'                 the browser
// Every workspace with a jest.config.js is a project: a new workspace's tests run without an entry here.
module.exports = {
  projects: ['<rootDir>/*/jest.config.js'],
};
