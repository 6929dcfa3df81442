module.exports = { ...require('../jest.preset'), displayName: 'launcher' };
