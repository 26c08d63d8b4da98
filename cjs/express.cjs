'use strict';
/* global require, module */
// `require('sessionlock/express')` answers the middleware factory itself, as
// `require('express-session')` does, with every named export on it as well.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS entry must require
const mod = require('../dist/adapters/express.cjs');

module.exports = Object.assign(mod.default, mod);
