module.exports = { ...require('../jest.preset'), displayName: 'moderation' };
