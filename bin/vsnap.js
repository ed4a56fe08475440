#!/usr/bin/env node
// `vsnap` in a checkout (npm run vsnap, the tests): runs the TypeScript sources through tsx, so
// edits take effect without a build. The installed package's bin is the compiled
// dist/client/main.js instead, which needs no dev tools.
require('tsx/cjs');
const { runCli } = require('../client/main.ts');
runCli(process.argv.slice(2)).then((code) => process.exit(code));
