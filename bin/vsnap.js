#!/usr/bin/env node
// The `vsnap` command: runs the TypeScript CLI through tsx's loader.
require('tsx/cjs');
const { runCli } = require('../client/main.ts');
runCli(process.argv.slice(2)).then((code) => process.exit(code));
