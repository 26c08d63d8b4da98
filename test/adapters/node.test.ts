import { describe, it } from 'node:test';
import { runAdapterScenarios } from './_scenarios.js';
import { startNode } from './_apps/node.js';

runAdapterScenarios({ name: 'node:http', start: startNode, test: { describe, it } });
