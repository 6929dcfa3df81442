module.exports = { ...require('../jest.preset'), displayName: 'blogctl' };
