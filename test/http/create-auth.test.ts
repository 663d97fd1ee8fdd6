import { describeCreateAuth } from '../suites/create-auth.js';
import { memoryStores } from '../suites/shared.js';

describeCreateAuth('the memory store', memoryStores());
