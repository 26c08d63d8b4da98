import { describe, it } from 'node:test';
import express from 'express';
import { runAdapterScenarios } from './_scenarios.js';
import { startExpress } from './_apps/express.js';

runAdapterScenarios({ name: 'Express 5', start: startExpress(express), test: { describe, it } });
