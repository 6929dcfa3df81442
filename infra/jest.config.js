module.exports = { ...require('../jest.preset'), displayName: 'infra' };
