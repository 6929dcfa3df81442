module.exports = { ...require('../jest.preset'), displayName: 'query' };
