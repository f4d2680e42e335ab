#!/usr/bin/env node
// routes-flow.mjs with signify-ts 0.4.0.
import * as signify from 'signify-ts';
import { main } from './routes-flow.mjs';

main(signify);
