#!/usr/bin/env node
// ../signify04/routes-flow.mjs with signify-ts 0.3.0.
import * as signify from 'signify-ts';
import { main } from '../signify04/routes-flow.mjs';

main(signify);
