module.exports = { ...require('../jest.preset'), displayName: 'posts' };
