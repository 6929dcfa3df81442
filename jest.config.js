// `npm test` runs every workspace's tests. One kind alone:
//   npx jest --testPathIgnorePatterns '\.(int|e2e)\.test\.tsx?$'   unit and API tests
//   npx jest --testPathPatterns '\.int\.test\.ts$'                 several real processes
//   npx jest --testPathPatterns '\.e2e\.test\.ts$'                 the browser
module.exports = {
  projects: [
    '<rootDir>/common',
    '<rootDir>/event-bus',
    '<rootDir>/posts',
    '<rootDir>/comments',
    '<rootDir>/moderation',
    '<rootDir>/query',
    '<rootDir>/client',
    '<rootDir>/launcher',
    '<rootDir>/e2e',
    '<rootDir>/infra',
    '<rootDir>/blogctl',
  ],
};
