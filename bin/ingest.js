#!/usr/bin/env node
// The `ingest` command (package.json "bin"): runs src/app/cli/main.ts through tsx, as the npm scripts run TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('../src/app/cli/main.ts');
