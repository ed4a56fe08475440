#!/usr/bin/env node
// `vsnap` in a checkout (npm run vsnap, the tests): runs the TypeScript sources through tsx, so
// edits take effect without a build. The installed package's bin is the compiled
// dist/client/main.js instead, which needs no dev tools.
require('tsx/cjs');
require('../client/main.ts').runAsMain(process.argv.slice(2));
