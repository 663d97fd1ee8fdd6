import { describeLoginThrottle } from '../../suites/login-throttle.js';
import { describeOnRedis } from '../clients.js';

describeOnRedis(describeLoginThrottle);
