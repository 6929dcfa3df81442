module.exports = { ...require('../jest.preset'), displayName: 'common' };
