#!/usr/bin/env node
import { main } from '../build/controller/commands/cli.js';

process.exitCode = await main(process.argv.slice(2));
