module.exports = { ...require('../jest.preset'), displayName: 'bench' };
