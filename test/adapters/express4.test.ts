import { describe, it } from 'node:test';
import express from 'express4';
import { runAdapterScenarios } from './_scenarios.js';
import { startExpress } from './_apps/express.js';

runAdapterScenarios({ name: 'Express 4', start: startExpress(express), test: { describe, it } });
