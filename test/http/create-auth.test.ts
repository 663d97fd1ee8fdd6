import { describeCreateAuth, memoryStores } from '../suites/create-auth.js';

describeCreateAuth('the memory store', memoryStores());
