import { MemoryTokenStore } from '../../src/index.js';
import { testRefreshTokenStore } from '../../src/testing/index.js';

testRefreshTokenStore('MemoryTokenStore', () => new MemoryTokenStore());
