module.exports = { ...require('../jest.preset'), displayName: 'comments' };
