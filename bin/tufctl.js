#!/usr/bin/env node
// The AWS SDK (loaded only for awskms: online keys) warns at length about Node 20 on every start of a
// client; tufctl supports Node >= 20.19, so the warning is noise in the refresh job's logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
